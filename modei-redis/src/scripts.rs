//! The Lua scripts: one per store operation, each run atomically by Redis (`EVALSHA`, falling
//! back to `EVAL` when the server does not have the script cached yet).
//!
//! Numbers travel as decimal strings and are compared as Lua numbers (doubles): the Rust side
//! keeps every value within ±(2^53 - 1), where doubles are exact, and the scripts write numbers
//! back with `string.format('%d', x)` (Lua 5.1's `tostring` keeps only 14 significant digits).
//!
//! A counter is one hash, `P c:{S}:C`, with a field per window: `m`, `h`, `d`, `M` (minute,
//! hour, day, month) each `<window start, unix ms>:<count>:<cents>`, and `t` (total)
//! `<count>:<cents>`. A window field whose start is older than the window of `now` (passed by
//! the caller) reads as zero and is rewritten with the new start. One that is *newer* (written
//! by a replica whose clock is ahead, across a boundary) is kept and counted against: a window
//! never moves back, so a replica behind never resets what one ahead has counted.
//!
//! Keys a script builds itself (the counter hashes reached from a hold id in `release_hold` /
//! `commit_hold`) carry the same `{subject}` hash tag as its declared keys, so they live in
//! the same cluster slot.

/// Holds of one counter: `HGETALL` → live reservations summed; expired ones deleted (with
/// their index entries). Shared by `check_and_commit` and `snapshot` (which does not delete).
const HOLDS_SUM: &str = r#"
local function holds_sum(hkey, ikey, now, purge, counter)
  local hs = redis.call('HGETALL', hkey)
  local reserved, live = 0, 0
  for i = 1, #hs, 2 do
    local v = hs[i + 1]
    local sep = string.find(v, ':', 1, true)
    local amt = tonumber(string.sub(v, 1, sep - 1))
    local exp = tonumber(string.sub(v, sep + 1))
    if exp <= now then
      if purge then
        redis.call('HDEL', hkey, hs[i])
        if redis.call('HGET', ikey, hs[i]) == counter then
          redis.call('HDEL', ikey, hs[i])
        end
      end
    else
      reserved = reserved + amt
      live = live + 1
    end
  end
  return reserved, live
end
"#;

/// The counter hash: one `HMGET` to read its five windows, one `HSET` to write them, and its
/// TTL. Shared by `check_and_commit`, `snapshot` and `commit_hold`.
///
/// `read_counter(key, a)`: `ARGV[a .. a + 3]` are the starts of the minute, hour, day and month
/// windows of `now`. Returns counts, cents, the start each window field keeps (a string, as
/// sent or stored: compared as a string first, as a number only when it differs), whether the
/// month field was absent or older (a new month for this key), and whether the key existed.
/// Numbers are parsed by arithmetic (`x + 0`, cheaper than `tonumber`); a malformed field is
/// a script error, so the store fails closed.
///
/// `counter_ttl`: memory stays bounded, as with the former key per window. While the total
/// spend is ≤ 0 the key ends with its month (plus grace): the TTL is set when a month starts
/// for the key (or the key is made), not on every call. When the total spend first turns
/// positive the key is made persistent (a budget on `total` never resets); a key made with
/// spend already has no TTL.
const COUNTER: &str = r#"
local function read_counter(key, a)
  local v = redis.call('HMGET', key, 'm', 'h', 'd', 'M', 't')
  local n, s = {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}
  local st = {ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]}
  local new_month = true
  for w = 1, 4 do
    if v[w] then
      local f0, f1, f2 = string.match(v[w], '^([^:]*):([^:]*):(.*)$')
      if f0 == st[w] or f0 + 0 > st[w] + 0 then
        st[w], n[w], s[w] = f0, f1 + 0, f2 + 0
        if w == 4 then new_month = false end
      end
    end
  end
  if v[5] then
    local f1, f2 = string.match(v[5], '^([^:]*):(.*)$')
    n[5], s[5] = f1 + 0, f2 + 0
  end
  return n, s, st, new_month, v[5] ~= false
end
local function write_counter(key, n, s, st)
  local f = string.format
  redis.call('HSET', key, 'm', f('%s:%d:%d', st[1], n[1], s[1]),
             'h', f('%s:%d:%d', st[2], n[2], s[2]), 'd', f('%s:%d:%d', st[3], n[3], s[3]),
             'M', f('%s:%d:%d', st[4], n[4], s[4]), 't', f('%d:%d', n[5], s[5]))
end
local function counter_ttl(key, existed, new_month, total_before, total, month_ttl)
  if total > 0 then
    if existed and total_before <= 0 then redis.call('PERSIST', key) end
  elseif new_month then
    redis.call('PEXPIRE', key, month_ttl)
  end
end
"#;

/// `check_and_commit`.
///
/// KEYS: 1 the counter hash, 2 the counter's holds, 3 the subject's hold index, 4 the
/// subject's anomaly minutes, and optionally 5 a chain whose head is read in the same step
/// (`check_and_commit_reading_head`).
/// ARGV: now, amount, grace, counter (encoded), hold id ("" = none), hold expiry,
/// max holds, minute index, the starts of the minute, hour, day and month windows of now,
/// the counter's month TTL (ms to the month's end + grace), nrates, (window, limit)*, ncaps,
/// (window, cap)* (windows 1..5: minute, hour, day, month, total).
/// Returns `{1, c1.., s1..}` committed (counts in rate order, spend in cap order),
/// `{0, kind (1 rate, 2 cap), index, current, c1.., s1..}` exceeded (counts and spend before
/// this action), `{-1}` too many open holds; with
/// KEYS[5], `{that, head sequence or "", head hash or ""}`.
pub fn check_and_commit() -> String {
    format!(
        "{HOLDS_SUM}{COUNTER}{}",
        r#"
local function check()
-- Numbers are parsed by arithmetic (`x + 0`, cheaper than `tonumber`), and only when used.
local now = ARGV[1] + 0
local amount = ARGV[2] + 0
local hold_id = ARGV[5]
local n, s, st, new_month, existed = read_counter(KEYS[1], 9)
local reserved, live = holds_sum(KEYS[2], KEYS[3], now, true, ARGV[4])
-- Rate r: window ARGV[13 + 2r], limit ARGV[14 + 2r]; cap c: window ARGV[c0 - 1 + 2c], cap
-- ARGV[c0 + 2c].
local nrates = ARGV[14] + 0
local c0 = 15 + 2 * nrates
local ncaps = ARGV[c0] + 0
-- Appends the counts in rate order, then the spend in cap order.
local function report(out)
  for r = 1, nrates do out[#out + 1] = n[ARGV[13 + 2 * r] + 0] end
  for c = 1, ncaps do out[#out + 1] = s[ARGV[c0 - 1 + 2 * c] + 0] + reserved end
  return out
end
-- A refusal reports what every window held before this action.
for r = 1, nrates do
  local w = ARGV[13 + 2 * r] + 0
  if n[w] + 1 > ARGV[14 + 2 * r] + 0 then return report({0, 1, r, n[w]}) end
end
for c = 1, ncaps do
  local w = ARGV[c0 - 1 + 2 * c] + 0
  if s[w] + reserved + amount > ARGV[c0 + 2 * c] + 0 then
    return report({0, 2, c, s[w] + reserved})
  end
end
if hold_id ~= '' and live >= ARGV[7] + 0 then return {-1} end
-- Commit: the action counts in every window; spend, or a reservation under the hold.
local total_before = s[5]
for w = 1, 5 do
  n[w] = n[w] + 1
  if hold_id == '' then s[w] = s[w] + amount end
end
write_counter(KEYS[1], n, s, st)
counter_ttl(KEYS[1], existed, new_month, total_before, s[5], ARGV[13])
local grace = ARGV[3] + 0
if hold_id ~= '' then
  reserved = reserved + amount
  redis.call('HSET', KEYS[2], hold_id, ARGV[2] .. ':' .. ARGV[6])
  redis.call('HSET', KEYS[3], hold_id, ARGV[4])
  local want = ARGV[6] - now + grace
  if want < grace then want = grace end
  for k = 2, 3 do
    if redis.call('PTTL', KEYS[k]) < want then redis.call('PEXPIRE', KEYS[k], want) end
  end
end
-- Anomaly minutes: per subject, the last 35 one-minute buckets, trimmed (and the key's TTL
-- renewed) when a new minute starts.
if redis.call('HINCRBY', KEYS[4], ARGV[8], 1) == 1 then
  local minute = ARGV[8] + 0
  local fields = redis.call('HKEYS', KEYS[4])
  for f = 1, #fields do
    if minute - tonumber(fields[f]) >= 35 then redis.call('HDEL', KEYS[4], fields[f]) end
  end
  redis.call('PEXPIRE', KEYS[4], 35 * 60000 + grace)
end
return report({1})
end
local out = check()
if KEYS[5] then
  local h = redis.call('HMGET', KEYS[5], 'seq', 'hash')
  return {out, h[1] or '', h[2] or ''}
end
return out
"#
    )
}

/// `snapshot` (read only).
///
/// KEYS: 1 the counter hash, 2 the counter's holds, 3 the hold index, 4 anomaly minutes.
/// ARGV: now, minute index, the starts of the minute, hour, day and month windows of now (and
/// the month TTL, which `snapshot` does not use).
/// Returns `{count minute, hour, day, spend hour, day, month, total, recent 5m, baseline 30m}`.
pub fn snapshot() -> String {
    format!(
        "{HOLDS_SUM}{COUNTER}{}",
        r#"
local now = tonumber(ARGV[1])
local minute = tonumber(ARGV[2])
local n, s = read_counter(KEYS[1], 3)
local reserved = holds_sum(KEYS[2], KEYS[3], now, false, '')
local recent, base = 0, 0
local a = redis.call('HGETALL', KEYS[4])
for i = 1, #a, 2 do
  local age = minute - tonumber(a[i])
  local c = tonumber(a[i + 1])
  if age >= 0 and age < 5 then recent = recent + c
  elseif age >= 5 and age < 35 then base = base + c end
end
return {n[1], n[2], n[3], s[2] + reserved, s[3] + reserved, s[4] + reserved,
        s[5] + reserved, recent, base}
"#
    )
}

/// `release_hold` and `commit_hold`.
///
/// KEYS: 1 the subject's hold index.
/// ARGV: hold id, now, commit (1/0), holds-key prefix, counter-key prefix, the starts of the
/// minute, hour, day and month windows of now, the counter's month TTL (ms to the month's
/// end + grace).
/// Returns 1 when the hold was open (and was released or committed), else 0. A commit adds
/// the hold's cents to every window of `now` (its action was counted when it was reserved).
pub fn resolve_hold() -> String {
    format!(
        "{COUNTER}{}",
        r#"
local id = ARGV[1]
local now = tonumber(ARGV[2])
local commit = ARGV[3] == '1'
local counter = redis.call('HGET', KEYS[1], id)
if not counter then return 0 end
redis.call('HDEL', KEYS[1], id)
local hkey = ARGV[4] .. counter
local v = redis.call('HGET', hkey, id)
if not v then return 0 end
redis.call('HDEL', hkey, id)
local sep = string.find(v, ':', 1, true)
local amt = tonumber(string.sub(v, 1, sep - 1))
local exp = tonumber(string.sub(v, sep + 1))
if exp <= now then return 0 end
if commit and amt ~= 0 then
  local key = ARGV[5] .. counter
  local n, s, st, new_month, existed = read_counter(key, 6)
  local total_before = s[5]
  for w = 1, 5 do s[w] = s[w] + amt end
  write_counter(key, n, s, st)
  counter_ttl(key, existed, new_month, total_before, s[5], ARGV[10])
end
return 1
"#
    )
}

/// `check_nonce`. KEYS: 1 the nonce. ARGV: now, expires at, grace. Returns 1 if fresh.
pub const NONCE: &str = r#"
local now = tonumber(ARGV[1])
local v = redis.call('GET', KEYS[1])
if v and tonumber(v) > now then return 0 end
local ttl = tonumber(ARGV[2]) - now + tonumber(ARGV[3])
if ttl < tonumber(ARGV[3]) then ttl = tonumber(ARGV[3]) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
return 1
"#;

/// `commit_head` (compare-and-swap). KEYS: 1 the chain. ARGV: sequence, hash.
/// Returns 1 when the head moved from `sequence - 1` to `sequence`.
pub const COMMIT_HEAD: &str = r#"
local cur = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if tonumber(ARGV[1]) ~= cur + 1 then return 0 end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'hash', ARGV[2])
return 1
"#;

/// `record_heartbeat` (keeps the latest). KEYS: 1 the heartbeat. ARGV: at (unix ms).
pub const HEARTBEAT: &str = r#"
local v = redis.call('GET', KEYS[1])
if (not v) or tonumber(ARGV[1]) > tonumber(v) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"#;
