//! The Lua scripts: one per store operation, each run atomically by Redis (`EVALSHA`, falling
//! back to `EVAL` when the server does not have the script cached yet).
//!
//! Numbers travel as decimal strings and are compared as Lua numbers (doubles): the Rust side
//! keeps every value within ±(2^53 - 1), where doubles are exact. Counters are changed with
//! `HINCRBY` (exact 64-bit integers on the server).
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

/// `check_and_commit`.
///
/// KEYS: 1..5 window hashes (minute, hour, day, month, total), 6 the counter's holds,
/// 7 the subject's hold index, 8 the subject's anomaly minutes, and optionally 9 a chain
/// whose head is read in the same step (`check_and_commit_reading_head`).
/// ARGV: now, amount, grace, counter (encoded), hold id ("" = none), hold expiry,
/// max holds, minute index, ttl1..ttl5 (ms to each window's end; total: to the day's end),
/// nrates, (window, limit)*, ncaps, (window, cap)*.
/// Returns `{1, c1.., s1..}` committed (counts in rate order, spend in cap order),
/// `{0, kind (1 rate, 2 cap), index, current, c1.., s1..}` exceeded (counts and spend before
/// this action), `{-1}` too many open holds; with
/// KEYS[9], `{that, head sequence or "", head hash or ""}`.
pub fn check_and_commit() -> String {
    format!(
        "{HOLDS_SUM}{}",
        r#"
local function check()
local now = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
local counter = ARGV[4]
local hold_id = ARGV[5]
local hold_exp = tonumber(ARGV[6])
local max_holds = tonumber(ARGV[7])
local minute = tonumber(ARGV[8])
local n, s = {}, {}
for w = 1, 5 do
  local v = redis.call('HMGET', KEYS[w], 'n', 's')
  n[w] = tonumber(v[1] or '0')
  s[w] = tonumber(v[2] or '0')
end
local reserved, live = holds_sum(KEYS[6], KEYS[7], now, true, counter)
local i = 14
local nrates = tonumber(ARGV[i]); i = i + 1
local rates, rlimits = {}, {}
for r = 1, nrates do
  rates[r], rlimits[r] = tonumber(ARGV[i]), tonumber(ARGV[i + 1]); i = i + 2
end
local ncaps = tonumber(ARGV[i]); i = i + 1
local caps, climits = {}, {}
for c = 1, ncaps do
  caps[c], climits[c] = tonumber(ARGV[i]), tonumber(ARGV[i + 1]); i = i + 2
end
-- A refusal reports what every window held before this action.
local function refused(kind, index, current)
  local out = {0, kind, index, current}
  for r = 1, nrates do out[#out + 1] = n[rates[r]] end
  for c = 1, ncaps do out[#out + 1] = s[caps[c]] + reserved end
  return out
end
for r = 1, nrates do
  local w = rates[r]
  if n[w] + 1 > rlimits[r] then return refused(1, r, n[w]) end
end
for c = 1, ncaps do
  local w = caps[c]
  if s[w] + reserved + amount > climits[c] then return refused(2, c, s[w] + reserved) end
end
if hold_id ~= '' and live >= max_holds then return {-1} end
-- Commit: the action counts in every window; spend, or a reservation under the hold.
local total_before = s[5]
for w = 1, 5 do
  redis.call('HINCRBY', KEYS[w], 'n', 1)
  if hold_id == '' and amount ~= 0 then
    redis.call('HINCRBY', KEYS[w], 's', amount)
    s[w] = s[w] + amount
  end
  -- A window key ends with its window (plus grace): its TTL is set when the key is made.
  if w < 5 and n[w] == 0 then
    redis.call('PEXPIRE', KEYS[w], tonumber(ARGV[8 + w]) + grace)
  end
  n[w] = n[w] + 1
end
if s[5] <= 0 then
  redis.call('PEXPIRE', KEYS[5], tonumber(ARGV[13]) + grace)
elseif total_before <= 0 then
  redis.call('PERSIST', KEYS[5])
end
if hold_id ~= '' then
  reserved = reserved + amount
  redis.call('HSET', KEYS[6], hold_id, ARGV[2] .. ':' .. ARGV[6])
  redis.call('HSET', KEYS[7], hold_id, counter)
  local want = hold_exp - now + grace
  if want < grace then want = grace end
  for k = 6, 7 do
    if redis.call('PTTL', KEYS[k]) < want then redis.call('PEXPIRE', KEYS[k], want) end
  end
end
-- Anomaly minutes: per subject, the last 35 one-minute buckets, trimmed (and the key's TTL
-- renewed) when a new minute starts.
if redis.call('HINCRBY', KEYS[8], ARGV[8], 1) == 1 then
  local fields = redis.call('HKEYS', KEYS[8])
  for f = 1, #fields do
    if minute - tonumber(fields[f]) >= 35 then redis.call('HDEL', KEYS[8], fields[f]) end
  end
  redis.call('PEXPIRE', KEYS[8], 35 * 60000 + grace)
end
local out = {1}
for r = 1, nrates do out[#out + 1] = n[rates[r]] end
for c = 1, ncaps do out[#out + 1] = s[caps[c]] + reserved end
return out
end
local out = check()
if KEYS[9] then
  local h = redis.call('HMGET', KEYS[9], 'seq', 'hash')
  return {out, h[1] or '', h[2] or ''}
end
return out
"#
    )
}

/// `snapshot` (read only).
///
/// KEYS: 1..5 window hashes, 6 the counter's holds, 7 the hold index, 8 anomaly minutes.
/// ARGV: now, minute index.
/// Returns `{count minute, hour, day, spend hour, day, month, total, recent 5m, baseline 30m}`.
pub fn snapshot() -> String {
    format!(
        "{HOLDS_SUM}{}",
        r#"
local now = tonumber(ARGV[1])
local minute = tonumber(ARGV[2])
local n, s = {}, {}
for w = 1, 5 do
  local v = redis.call('HMGET', KEYS[w], 'n', 's')
  n[w] = tonumber(v[1] or '0')
  s[w] = tonumber(v[2] or '0')
end
local reserved = holds_sum(KEYS[6], KEYS[7], now, false, '')
local recent, base = 0, 0
local a = redis.call('HGETALL', KEYS[8])
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
/// ARGV: hold id, now, commit (1/0), grace, holds-key prefix, window-key prefix,
/// then for each of the 5 windows: key suffix, ttl (ms to the window's end at `now`).
/// Returns 1 when the hold was open (and was released or committed), else 0.
pub const RESOLVE_HOLD: &str = r#"
local id = ARGV[1]
local now = tonumber(ARGV[2])
local commit = ARGV[3] == '1'
local grace = tonumber(ARGV[4])
local counter = redis.call('HGET', KEYS[1], id)
if not counter then return 0 end
redis.call('HDEL', KEYS[1], id)
local hkey = ARGV[5] .. counter
local v = redis.call('HGET', hkey, id)
if not v then return 0 end
redis.call('HDEL', hkey, id)
local sep = string.find(v, ':', 1, true)
local amt = tonumber(string.sub(v, 1, sep - 1))
local exp = tonumber(string.sub(v, sep + 1))
if exp <= now then return 0 end
if commit and amt ~= 0 then
  for w = 1, 5 do
    local k = ARGV[6] .. counter .. ARGV[5 + 2 * w]
    local total = redis.call('HINCRBY', k, 's', amt)
    if w < 5 then
      redis.call('PEXPIRE', k, tonumber(ARGV[6 + 2 * w]) + grace)
    elseif total > 0 then
      redis.call('PERSIST', k)
    end
  end
end
return 1
"#;

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
