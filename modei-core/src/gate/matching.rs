//! Permission matching: which granted permission covers a requested action.
//!
//! A permission key is matched against the action, case-sensitively:
//! - an exact key (`email:send`) matches that action only;
//! - `prefix:*` (`email:*`) matches every action that starts with `prefix:` and has at least
//!   one character after it (`email:send`, `email:drafts:create`; not `email` or `emailx:y`);
//! - `*` matches every action.
//!
//! When several permissions match, the most specific wins: the exact key, else the longest
//! prefix, else `*`. Its constraints are the ones enforced, and its key is the counter that
//! rate limits and budgets count under.

/// A parsed permission key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermPattern<'a> {
    /// `*`.
    Any,
    /// `prefix:*` (holds `prefix:`).
    Prefix(&'a str),
    /// An exact key.
    Exact(&'a str),
}

impl<'a> PermPattern<'a> {
    /// Parses a key; `*` is only allowed alone or as a trailing `:*`.
    pub fn parse(key: &'a str) -> Result<PermPattern<'a>, String> {
        if key.is_empty()
            || key.len() > 512
            || key.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "permission key {key:?} is empty, too long or has whitespace"
            ));
        }
        if key == "*" {
            return Ok(PermPattern::Any);
        }
        if let Some(prefix) = key.strip_suffix('*') {
            if prefix.ends_with(':') && prefix.len() > 1 && !prefix.contains('*') {
                return Ok(PermPattern::Prefix(prefix));
            }
        }
        if key.contains('*') {
            return Err(format!(
                "permission key {key:?}: '*' is only allowed as \"*\" or a trailing \":*\""
            ));
        }
        Ok(PermPattern::Exact(key))
    }

    /// Whether the pattern covers `action`.
    pub fn matches(&self, action: &str) -> bool {
        match self {
            PermPattern::Any => true,
            PermPattern::Prefix(p) => action.len() > p.len() && action.starts_with(p),
            PermPattern::Exact(k) => *k == action,
        }
    }

    /// Specificity for choosing among matches: exact > longer prefix > `*`.
    fn rank(&self) -> usize {
        match self {
            PermPattern::Any => 0,
            PermPattern::Prefix(p) => 1 + p.len(),
            PermPattern::Exact(_) => usize::MAX,
        }
    }
}

/// The index of the most specific key in `keys` covering `action` (invalid keys never
/// match).
pub fn best_match<'k, I>(keys: I, action: &str) -> Option<usize>
where
    I: IntoIterator<Item = &'k str>,
{
    let mut best: Option<(usize, usize)> = None;
    for (i, k) in keys.into_iter().enumerate() {
        // A key without a wildcard matches only itself: others need no parse.
        if !k.ends_with('*') && k != action {
            continue;
        }
        let Ok(p) = PermPattern::parse(k) else {
            continue;
        };
        if !p.matches(action) {
            continue;
        }
        let r = p.rank();
        if best.is_none_or(|(_, br)| r > br) {
            best = Some((i, r));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specificity_and_edges() {
        let keys = ["*", "email:*", "email:drafts:*", "email:send"];
        assert_eq!(best_match(keys, "email:send"), Some(3));
        assert_eq!(best_match(keys, "email:drafts:new"), Some(2));
        assert_eq!(best_match(keys, "email:read"), Some(1));
        assert_eq!(best_match(keys, "files:read"), Some(0));
        assert_eq!(best_match(["email:*"], "email:"), None);
        assert_eq!(best_match(["email:*"], "email"), None);
        assert_eq!(best_match(["email:*"], "emailx:y"), None);
        assert_eq!(best_match(["Email:send"], "email:send"), None);
        assert_eq!(best_match(["em*il"], "emxil"), None);
        assert!(PermPattern::parse(":*").is_err());
        assert!(PermPattern::parse("a b").is_err());
    }
}
