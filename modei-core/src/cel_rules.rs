//! `core:cel:rules`: host-written rules in Google's Common Expression Language.
//!
//! ```json
//! {"core:cel:rules": [
//!   {"expr": "request.cost_cents + state.spend.day <= 5000", "on_false": "request_hold",
//!    "message": "over $50 today needs a human"},
//!   {"expr": "request.host.endsWith('.example.com')", "on_false": "block"}
//! ]}
//! ```
//!
//! Variables (all JSON integers that fit `i64` are CEL `int`, never `uint`, so
//! `request.cost_cents + 1` works):
//! - `request`: `action`, `target` (canonical string or `null`), `host`, `path` (or `null`),
//!   `cost_cents`, `metadata` (the request metadata);
//! - `passport`: `id`, `agent`, `issuer`, `tier`, `permission`;
//! - `state`: `count.minute|hour|day`, `spend.hour|day|month|total` (cents, reservations
//!   included), `recent_5m`, `baseline_30m`;
//! - `now`: the decision instant as an `int` of Unix **milliseconds** (the `chrono` feature of
//!   the `cel` crate is off, so there is no `timestamp` type).
//!
//! Bounds, all checked before or instead of trusting the parser: expression length
//! [`MAX_EXPR_LEN`]; bracket nesting [`MAX_BRACKET_DEPTH`], selections [`MAX_SELECTS`] and
//! unary-operator runs [`MAX_UNARY_RUN`] pre-scanned **before** parsing (so the parser cannot overflow the stack);
//! binary-operator count [`MAX_OPERATORS`] pre-scanned too; after parsing, AST depth
//! [`MAX_AST_DEPTH`], AST size [`MAX_AST_NODES`] and comprehension nesting
//! [`MAX_COMPREHENSION_NESTING`] and count [`MAX_COMPREHENSIONS`] are walked iteratively; functions in [`DENIED_FUNCTIONS`]
//! (string `replace`, whose output can grow geometrically) are refused. The context is
//! bounded too: at most [`MAX_CONTEXT_NODES`] values, lists of [`MAX_CONTEXT_LIST`], strings
//! of [`MAX_CONTEXT_STRING`] bytes and nesting [`MAX_CONTEXT_DEPTH`]; larger metadata blocks
//! the rule (fail closed). With comprehensions nested at most twice over lists of at most
//! 128 items, a rule does at most about 16 000 steps per pair of lists.
//!
//! Without the crate feature `cel`, `core:cel:rules` is refused at parse time with
//! `unknown_constraint` (the gate then blocks).

use crate::constraints::{Decision, EvalContext, Evaluation};
use crate::error::{Code, Error, Result};
use crate::state::StateSnapshot;
use serde_json::Value;

/// Longest rule expression, in bytes.
pub const MAX_EXPR_LEN: usize = 4096;
/// Most rules in one `core:cel:rules`.
pub const MAX_RULES: usize = 32;
/// Deepest `(`/`[`/`{` nesting accepted by the pre-scan. The `cel` crate's ANTLR parser uses
/// about 200 KB of stack per nesting level in a debug build (about 10 KB in release; measured
/// with 0.15.0): 8 levels fit the 2 MiB of a test thread in debug and stay far inside the
/// 1 MiB default stack of WASM in release.
pub const MAX_BRACKET_DEPTH: usize = 8;
/// Most member selections (`.`) accepted by the pre-scan (a long `a.b.c...` chain nests too).
pub const MAX_SELECTS: usize = 64;
/// Longest run of unary `!`/`-` accepted by the pre-scan.
pub const MAX_UNARY_RUN: usize = 4;
/// Most binary operators (`+ - * / % < > == != <= >= && || ?`) accepted by the pre-scan.
pub const MAX_OPERATORS: usize = 48;
/// Deepest AST accepted.
pub const MAX_AST_DEPTH: usize = 48;
/// Largest AST accepted (macros expand, so this counts expanded nodes).
pub const MAX_AST_NODES: usize = 2048;
/// Deepest nesting of comprehensions (`all`, `exists`, `exists_one`, `map`, `filter`).
pub const MAX_COMPREHENSION_NESTING: usize = 2;
/// Most comprehensions in one expression (nested or side by side).
pub const MAX_COMPREHENSIONS: usize = 4;
/// Functions refused in rules.
pub const DENIED_FUNCTIONS: &[&str] = &["replace"];
/// Most values in the converted context.
pub const MAX_CONTEXT_NODES: usize = 10_000;
/// Longest list (and most keys of an object) in the converted context. With comprehensions
/// nested twice, a rule takes at most 128 × 128 ≈ 16 000 steps over one list (measured about
/// 0.5 µs a step in release: under 10 ms).
pub const MAX_CONTEXT_LIST: usize = 128;
/// Longest string in the converted context, in bytes.
pub const MAX_CONTEXT_STRING: usize = 64 * 1024;
/// Deepest nesting in the converted context.
pub const MAX_CONTEXT_DEPTH: usize = 16;
/// Compiled programs kept in an engine's cache (cleared when full).
pub const CACHE_CAPACITY: usize = 256;

fn cel_err(detail: impl Into<String>) -> Error {
    Error::new(Code::CelError, detail)
}

/// Checks length, bracket depth, unary runs and operator count without parsing. String
/// literals are skipped (their brackets do not count).
pub fn prescan(expr: &str) -> Result<()> {
    if expr.len() > MAX_EXPR_LEN {
        return Err(cel_err(format!(
            "expression is {} bytes; at most {MAX_EXPR_LEN}",
            expr.len()
        )));
    }
    if expr.trim().is_empty() {
        return Err(cel_err("expression is empty"));
    }
    let b = expr.as_bytes();
    let (mut depth, mut ops, mut unary, mut selects) = (0usize, 0usize, 0usize, 0usize);
    let mut prev_operand = false; // was the previous token an operand (for unary '-')
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                // Skip a string literal (triple quotes included; escapes skip one byte).
                let triple = b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&c);
                let q = if triple { 3 } else { 1 };
                i += q;
                loop {
                    if i >= b.len() {
                        return Err(cel_err("unterminated string literal"));
                    }
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == c
                        && (!triple || (b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&c)))
                    {
                        i += q;
                        break;
                    }
                    i += 1;
                }
                prev_operand = true;
                unary = 0;
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_BRACKET_DEPTH {
                    return Err(cel_err(format!(
                        "brackets nest deeper than {MAX_BRACKET_DEPTH} at byte {i}"
                    )));
                }
                prev_operand = false;
                unary = 0;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                prev_operand = true;
                unary = 0;
            }
            b'!' if b.get(i + 1) != Some(&b'=') => {
                unary += 1;
                prev_operand = false;
            }
            b'-' if !prev_operand => {
                unary += 1;
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'<' | b'>' | b'=' | b'!' | b'&' | b'|' | b'?' => {
                // Two-character operators count once.
                let two = matches!(
                    (c, b.get(i + 1)),
                    (b'=', Some(b'='))
                        | (b'!', Some(b'='))
                        | (b'<', Some(b'='))
                        | (b'>', Some(b'='))
                        | (b'&', Some(b'&'))
                        | (b'|', Some(b'|'))
                );
                ops += 1;
                if two {
                    i += 1;
                }
                prev_operand = false;
                unary = 0;
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'.' => {
                selects += 1;
                if selects > MAX_SELECTS {
                    return Err(cel_err(format!("more than {MAX_SELECTS} '.' selections")));
                }
                prev_operand = false;
                unary = 0;
            }
            _ => {
                prev_operand = true;
                unary = 0;
            }
        }
        if unary > MAX_UNARY_RUN {
            return Err(cel_err(format!(
                "more than {MAX_UNARY_RUN} unary operators in a row at byte {i}"
            )));
        }
        if ops > MAX_OPERATORS {
            return Err(cel_err(format!(
                "more than {MAX_OPERATORS} binary operators"
            )));
        }
        i += 1;
    }
    Ok(())
}

/// One compiled rule.
#[derive(Clone)]
pub struct CelRule {
    /// The expression text.
    pub expr: String,
    /// What a `false` result means: `block` or `request_hold`.
    pub on_false: Decision,
    /// The human message for `detail`.
    pub message: Option<String>,
    #[cfg(feature = "cel")]
    compiled: std::sync::Arc<imp::Compiled>,
}

/// The rules of one `core:cel:rules` value, compiled.
#[derive(Clone)]
pub struct CelRules {
    rules: Vec<CelRule>,
    /// What the rules read, together: only that is built for each evaluation.
    #[cfg(feature = "cel")]
    reads: imp::Reads,
}

impl std::fmt::Debug for CelRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelRule")
            .field("expr", &self.expr)
            .field("on_false", &self.on_false)
            .field("message", &self.message)
            .finish()
    }
}

impl std::fmt::Debug for CelRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.rules).finish()
    }
}

impl CelRules {
    /// The rules, in order.
    pub fn rules(&self) -> &[CelRule] {
        &self.rules
    }

    /// Whether any rule reads `state` (the counters): only then must the enforcer read them
    /// before evaluating.
    pub fn reads_state(&self) -> bool {
        #[cfg(feature = "cel")]
        {
            self.reads.reads_state()
        }
        #[cfg(not(feature = "cel"))]
        {
            false
        }
    }
}

/// Compiles CEL rules and caches programs by expression text. Owned by an
/// [`Enforcer`](crate::constraints::Enforcer); no global state.
pub struct CelEngine {
    #[cfg(feature = "cel")]
    env: std::sync::Arc<cel::Env>,
    #[cfg(feature = "cel")]
    cache: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<imp::Compiled>>>,
    /// Whether rules in the direct evaluator's subset skip the interpreter (`fast.rs`).
    #[cfg(feature = "cel")]
    direct: bool,
}

impl Default for CelEngine {
    fn default() -> Self {
        Self::new()
    }
}

fn parse_rule_shapes(key: &str, value: &Value) -> Result<Vec<(String, Decision, Option<String>)>> {
    let inv = |d: String| Error::new(Code::ConstraintInvalid, format!("{key}: {d}"));
    let arr = value
        .as_array()
        .ok_or_else(|| inv("must be a list of {expr, on_false, message?}".into()))?;
    if arr.is_empty() || arr.len() > MAX_RULES {
        return Err(inv(format!("must hold 1..={MAX_RULES} rules")));
    }
    let mut out = Vec::with_capacity(arr.len());
    for (i, r) in arr.iter().enumerate() {
        let o = r
            .as_object()
            .ok_or_else(|| inv(format!("rule[{i}] must be an object")))?;
        for k in o.keys() {
            if !matches!(k.as_str(), "expr" | "on_false" | "message") {
                return Err(inv(format!("rule[{i}]: unknown field {k:?}")));
            }
        }
        let expr = o
            .get("expr")
            .and_then(Value::as_str)
            .ok_or_else(|| inv(format!("rule[{i}] needs a string \"expr\"")))?;
        let on_false = match o.get("on_false").and_then(Value::as_str) {
            Some("block") | None => Decision::Block,
            Some("request_hold") => Decision::RequestHold,
            Some(x) => {
                return Err(inv(format!(
                    "rule[{i}]: on_false {x:?} must be block or request_hold"
                )))
            }
        };
        let message = match o.get("message") {
            None => None,
            Some(Value::String(s)) if s.len() <= 1024 => Some(s.clone()),
            Some(_) => {
                return Err(inv(format!(
                    "rule[{i}]: message must be a string of at most 1024 bytes"
                )))
            }
        };
        out.push((expr.to_string(), on_false, message));
    }
    Ok(out)
}

#[cfg(not(feature = "cel"))]
impl CelEngine {
    /// An engine (without the `cel` feature it refuses every rule).
    pub fn new() -> Self {
        CelEngine {}
    }

    /// Without the `cel` feature: always `unknown_constraint`.
    pub fn check(&self, _expr: &str) -> Result<()> {
        Err(Error::new(
            Code::UnknownConstraint,
            "core:cel:rules: this build has no CEL support (crate feature `cel` is off); failing closed",
        ))
    }

    pub(crate) fn parse_rules(&self, key: &str, value: &Value) -> Result<CelRules> {
        let _ = parse_rule_shapes(key, value)?;
        Err(Error::new(
            Code::UnknownConstraint,
            format!(
                "{key}: this build has no CEL support (crate feature `cel` is off); failing closed"
            ),
        ))
    }

    pub(crate) fn evaluate(
        &self,
        key: &std::sync::Arc<str>,
        _rules: &CelRules,
        _ctx: &EvalContext,
        _state: &StateSnapshot,
    ) -> Evaluation {
        Evaluation::of(
            key,
            Decision::Block,
            Value::Null,
            Value::Null,
            "no CEL support",
        )
    }
}

#[cfg(feature = "cel")]
mod imp {
    use super::*;
    use cel::common::ast::Expr;
    use cel::objects::{Key, Map as CelMap};
    use cel::{Context, Env, Program, Value as CV};
    use std::collections::HashMap;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::{Arc, Mutex};

    /// A compiled expression and what it reads of the variables.
    pub(crate) struct Compiled {
        program: Program,
        reads: Reads,
        /// The same rule for the direct evaluator, when it is in its subset.
        pub(super) fast: Option<super::fast::Node>,
    }

    /// The variables rules can read, in [`Reads`] order.
    const VARIABLES: [&str; 4] = ["request", "passport", "state", "now"];

    /// How much of one variable an expression reads.
    #[derive(Clone, Debug, Default, PartialEq)]
    enum Use {
        #[default]
        Nothing,
        /// Only these fields, each read as `var.field` (or `has(var.field)`).
        Fields(Vec<String>),
        /// The variable as a whole (indexed, iterated, passed to a function, ...).
        All,
    }

    impl Use {
        fn add_field(&mut self, f: &str) {
            match self {
                Use::Nothing => *self = Use::Fields(vec![f.to_string()]),
                Use::Fields(v) if !v.iter().any(|x| x == f) => v.push(f.to_string()),
                _ => {}
            }
        }

        fn union(&mut self, other: &Use) {
            match other {
                Use::Nothing => {}
                Use::All => *self = Use::All,
                Use::Fields(fs) => fs.iter().for_each(|f| self.add_field(f)),
            }
        }

        fn reads(&self, field: &str) -> bool {
            match self {
                Use::Nothing => false,
                Use::All => true,
                Use::Fields(v) => v.iter().any(|x| x == field),
            }
        }
    }

    /// What a set of expressions reads of `request`, `passport`, `state` and `now`, found by
    /// walking the AST once at compile time. Building a CEL value costs far more than
    /// evaluating a typical rule (the `cel` crate converts each variable to its own value
    /// model when it is bound), so each evaluation builds only what is read. A field that is
    /// never built cannot be observed: an expression that reads it has it.
    #[derive(Clone, Debug, Default)]
    pub(crate) struct Reads([Use; 4]);

    impl Reads {
        pub(crate) fn reads_state(&self) -> bool {
            self.0[2] != Use::Nothing
        }

        fn union(&mut self, other: &Reads) {
            for (a, b) in self.0.iter_mut().zip(&other.0) {
                a.union(b);
            }
        }
    }

    /// Converts JSON to a CEL value: integers that fit `i64` become `int`, larger positive ones
    /// `uint`, other numbers `double`. Bounded by the `MAX_CONTEXT_*` limits.
    pub fn json_to_cel(v: &Value) -> Result<CV> {
        let mut budget = MAX_CONTEXT_NODES;
        conv(v, 0, &mut budget)
    }

    fn conv(v: &Value, depth: usize, budget: &mut usize) -> Result<CV> {
        if depth > MAX_CONTEXT_DEPTH {
            return Err(cel_err(format!(
                "request data nests deeper than {MAX_CONTEXT_DEPTH} for CEL"
            )));
        }
        if *budget == 0 {
            return Err(cel_err(format!(
                "request data has more than {MAX_CONTEXT_NODES} values for CEL"
            )));
        }
        *budget -= 1;
        Ok(match v {
            Value::Null => CV::Null,
            Value::Bool(b) => CV::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    CV::Int(i)
                } else if let Some(u) = n.as_u64() {
                    CV::UInt(u)
                } else {
                    CV::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => {
                if s.len() > MAX_CONTEXT_STRING {
                    return Err(cel_err(format!("a string in request data is longer than {MAX_CONTEXT_STRING} bytes for CEL")));
                }
                CV::String(Arc::new(s.clone()))
            }
            Value::Array(a) => {
                if a.len() > MAX_CONTEXT_LIST {
                    return Err(cel_err(format!(
                        "a list in request data has more than {MAX_CONTEXT_LIST} items for CEL"
                    )));
                }
                CV::List(Arc::new(
                    a.iter()
                        .map(|x| conv(x, depth + 1, budget))
                        .collect::<Result<Vec<_>>>()?,
                ))
            }
            Value::Object(o) => {
                if o.len() > MAX_CONTEXT_LIST {
                    return Err(cel_err(format!(
                        "an object in request data has more than {MAX_CONTEXT_LIST} keys for CEL"
                    )));
                }
                let mut m = HashMap::with_capacity(o.len());
                for (k, x) in o {
                    m.insert(
                        Key::String(Arc::new(k.clone())),
                        conv(x, depth + 1, budget)?,
                    );
                }
                CV::Map(CelMap { map: Arc::new(m) })
            }
        })
    }

    fn map(entries: Vec<(&str, CV)>) -> CV {
        let m: HashMap<Key, CV> = entries
            .into_iter()
            .map(|(k, v)| (Key::String(Arc::new(k.to_string())), v))
            .collect();
        CV::Map(CelMap { map: Arc::new(m) })
    }

    fn s(x: &str) -> CV {
        CV::String(Arc::new(x.to_string()))
    }

    fn opt(x: Option<&str>) -> CV {
        x.map(s).unwrap_or(CV::Null)
    }

    fn int(x: u64) -> CV {
        CV::Int(i64::try_from(x).unwrap_or(i64::MAX))
    }

    /// Builds the fields of `request`, `passport`, `state` and `now` that `reads` names.
    pub(crate) fn variables(
        ctx: &EvalContext,
        st: &StateSnapshot,
        reads: &Reads,
    ) -> Result<Vec<(&'static str, CV)>> {
        fn pick(u: &Use, fields: Vec<(&str, &dyn Fn() -> Result<CV>)>) -> Result<CV> {
            let mut m = HashMap::with_capacity(fields.len());
            for (k, f) in fields {
                if u.reads(k) {
                    m.insert(Key::String(Arc::new(k.to_string())), f()?);
                }
            }
            Ok(CV::Map(CelMap { map: Arc::new(m) }))
        }
        let [req_use, pp_use, st_use, now_use] = &reads.0;
        let mut out = Vec::with_capacity(4);
        if *req_use != Use::Nothing {
            let t = ctx.target.as_ref();
            out.push((
                "request",
                pick(
                    req_use,
                    vec![
                        ("action", &|| Ok(s(ctx.action))),
                        ("target", &|| Ok(opt(t.map(|t| t.as_str())))),
                        ("host", &|| Ok(opt(t.and_then(|t| t.host())))),
                        ("path", &|| Ok(opt(t.map(|t| t.path())))),
                        ("cost_cents", &|| Ok(CV::Int(ctx.cost_cents))),
                        ("metadata", &|| json_to_cel(&ctx.metadata)),
                    ],
                )?,
            ));
        }
        if *pp_use != Use::Nothing {
            let p = &ctx.passport;
            out.push((
                "passport",
                pick(
                    pp_use,
                    vec![
                        ("id", &|| Ok(s(p.passport_id))),
                        ("agent", &|| Ok(s(p.agent_id))),
                        ("issuer", &|| Ok(s(p.issuer))),
                        ("tier", &|| Ok(s(p.tier))),
                        ("permission", &|| Ok(s(p.permission))),
                    ],
                )?,
            ));
        }
        if *st_use != Use::Nothing {
            out.push((
                "state",
                pick(
                    st_use,
                    vec![
                        ("count", &|| {
                            Ok(map(vec![
                                ("minute", int(st.count_minute)),
                                ("hour", int(st.count_hour)),
                                ("day", int(st.count_day)),
                            ]))
                        }),
                        ("spend", &|| {
                            Ok(map(vec![
                                ("hour", CV::Int(st.spend_hour)),
                                ("day", CV::Int(st.spend_day)),
                                ("month", CV::Int(st.spend_month)),
                                ("total", CV::Int(st.spend_total)),
                            ]))
                        }),
                        ("recent_5m", &|| Ok(int(st.recent_5m))),
                        ("baseline_30m", &|| Ok(int(st.baseline_30m))),
                    ],
                )?,
            ));
        }
        if *now_use != Use::Nothing {
            out.push(("now", CV::Int(ctx.now.unix_millis())));
        }
        Ok(out)
    }

    /// Walks the AST iteratively: depth, size, comprehension nesting, denied functions; and
    /// records what the expression reads of the variables.
    fn check_ast(program: &Program) -> Result<Reads> {
        let mut reads = Reads::default();
        let var = |name: &str| VARIABLES.iter().position(|v| *v == name);
        let mut stack: Vec<(&cel::IdedExpr, usize, usize)> = vec![(program.expression(), 1, 0)];
        let mut nodes = 0usize;
        let mut comprehensions = 0usize;
        while let Some((e, depth, comp)) = stack.pop() {
            nodes += 1;
            if nodes > MAX_AST_NODES {
                return Err(cel_err(format!(
                    "expression has more than {MAX_AST_NODES} nodes after macro expansion"
                )));
            }
            if depth > MAX_AST_DEPTH {
                return Err(cel_err(format!(
                    "expression nests deeper than {MAX_AST_DEPTH}"
                )));
            }
            let d = depth + 1;
            match &e.expr {
                Expr::Call(c) => {
                    if DENIED_FUNCTIONS.contains(&c.func_name.as_str()) {
                        return Err(cel_err(format!(
                            "function {:?} is not allowed in rules",
                            c.func_name
                        )));
                    }
                    if let Some(t) = &c.target {
                        stack.push((t, d, comp));
                    }
                    for a in &c.args {
                        stack.push((a, d, comp));
                    }
                }
                Expr::Comprehension(c) => {
                    comprehensions += 1;
                    if comprehensions > MAX_COMPREHENSIONS {
                        return Err(cel_err(format!(
                            "more than {MAX_COMPREHENSIONS} comprehensions"
                        )));
                    }
                    let comp = comp + 1;
                    if comp > MAX_COMPREHENSION_NESTING {
                        return Err(cel_err(format!(
                            "comprehensions nest deeper than {MAX_COMPREHENSION_NESTING}"
                        )));
                    }
                    for x in [
                        &c.iter_range,
                        &c.accu_init,
                        &c.loop_cond,
                        &c.loop_step,
                        &c.result,
                    ] {
                        stack.push((x, d, comp));
                    }
                }
                Expr::List(l) => {
                    for x in &l.elements {
                        stack.push((x, d, comp));
                    }
                }
                Expr::Map(m) => {
                    for en in &m.entries {
                        if let cel::common::ast::EntryExpr::MapEntry(me) = &en.expr {
                            stack.push((&me.key, d, comp));
                            stack.push((&me.value, d, comp));
                        } else {
                            return Err(cel_err("struct fields are not allowed in rules"));
                        }
                    }
                }
                Expr::Select(sel) => match &sel.operand.expr {
                    // `request.host`: one field. (A comprehension variable that shadows a
                    // name only adds fields: never fewer than are read.)
                    Expr::Ident(name) if var(name).is_some() => {
                        nodes += 1;
                        if let Some(i) = var(name) {
                            reads.0[i].add_field(&sel.field);
                        }
                    }
                    _ => stack.push((&sel.operand, d, comp)),
                },
                Expr::Struct(_) => {
                    return Err(cel_err("message construction is not allowed in rules"))
                }
                Expr::Ident(name) => {
                    if let Some(i) = var(name) {
                        reads.0[i] = Use::All;
                    }
                }
                Expr::Literal(_) | Expr::Unspecified => {}
            }
        }
        Ok(reads)
    }

    impl CelEngine {
        /// An engine with the CEL standard library plus the `strings` extension (minus
        /// [`DENIED_FUNCTIONS`]).
        pub fn new() -> Self {
            let mut env = Env::stdlib();
            // The strings extension only fails on a name clash, which a fresh stdlib env
            // does not have; without it rules just lack those functions.
            let _ = env.add_extension(cel::extensions::strings);
            CelEngine {
                env: Arc::new(env),
                cache: Mutex::new(HashMap::new()),
                direct: true,
            }
        }

        /// An engine that runs every rule through the interpreter: the reference the direct
        /// evaluator is tested against.
        #[cfg(all(test, feature = "cel-fast"))]
        pub(crate) fn interpreter_only() -> Self {
            CelEngine {
                direct: false,
                ..Self::new()
            }
        }

        /// Compiles (or fetches from the cache) one expression.
        pub(crate) fn compile(&self, expr: &str) -> Result<Arc<Compiled>> {
            if let Ok(c) = self.cache.lock() {
                if let Some(p) = c.get(expr) {
                    return Ok(p.clone());
                }
            }
            prescan(expr)?;
            let env = self.env.clone();
            let compiled = catch_unwind(AssertUnwindSafe(|| env.compile(expr)))
                .map_err(|_| cel_err("the CEL parser panicked on this expression"))?;
            let program = compiled.map_err(|e| {
                let mut s = e.to_string();
                if s.len() > 1024 {
                    // The parser's message quotes the input: cut on a char boundary.
                    let mut end = 1024;
                    while !s.is_char_boundary(end) {
                        end -= 1;
                    }
                    s.truncate(end);
                }
                cel_err(format!("syntax: {s}"))
            })?;
            let reads = check_ast(&program)?;
            let fast = if self.direct {
                super::fast::compile(program.expression())
            } else {
                None
            };
            let compiled = Arc::new(Compiled {
                program,
                reads,
                fast,
            });
            if let Ok(mut c) = self.cache.lock() {
                if c.len() >= CACHE_CAPACITY {
                    c.clear();
                }
                c.insert(expr.to_string(), compiled.clone());
            }
            Ok(compiled)
        }

        /// Checks that an expression passes every bound and compiles (`cel_error` otherwise).
        pub fn check(&self, expr: &str) -> Result<()> {
            self.compile(expr).map(|_| ())
        }

        /// Programs currently cached.
        pub fn cached(&self) -> usize {
            self.cache.lock().map(|c| c.len()).unwrap_or(0)
        }

        pub(crate) fn parse_rules(&self, key: &str, value: &Value) -> Result<CelRules> {
            let shapes = parse_rule_shapes(key, value)?;
            let mut rules = Vec::with_capacity(shapes.len());
            let mut reads = Reads::default();
            for (i, (expr, on_false, message)) in shapes.into_iter().enumerate() {
                let compiled = self
                    .compile(&expr)
                    .map_err(|e| cel_err(format!("{key}: rule[{i}]: {}", e.detail())))?;
                reads.union(&compiled.reads);
                rules.push(CelRule {
                    expr,
                    on_false,
                    message,
                    compiled,
                });
            }
            Ok(CelRules { rules, reads })
        }

        /// Runs every rule. A rule that errors or returns a non-bool blocks (fail closed).
        pub(crate) fn evaluate(
            &self,
            key: &Arc<str>,
            rules: &CelRules,
            ctx: &EvalContext,
            st: &StateSnapshot,
        ) -> Evaluation {
            let block =
                |obs: Value, d: String| Evaluation::of(key, Decision::Block, obs, Value::Null, d);
            // When every rule is in the direct evaluator's subset, the variables (which then
            // cannot fail to build: no metadata) are built only if a rule needs the interpreter.
            let direct = rules.rules.iter().all(|r| r.compiled.fast.is_some());
            let interpreter = || -> Result<Context> {
                let mut cctx = Context::with_env(self.env.clone());
                for (name, v) in variables(ctx, st, &rules.reads)? {
                    cctx.add_variable_from_value(name, v);
                }
                Ok(cctx)
            };
            let mut cctx = None;
            if !direct {
                match interpreter() {
                    Ok(c) => cctx = Some(c),
                    Err(e) => return block(Value::Null, format!("cel_error: {}", e.detail())),
                }
            }
            let mut hold: Option<Evaluation> = None;
            for (i, r) in rules.rules.iter().enumerate() {
                let obs = || serde_json::json!({ "rule": i, "expr": r.expr });
                let known = match &r.compiled.fast {
                    Some(node) if direct => super::fast::eval(node, ctx, st),
                    _ => None,
                };
                let res = match known {
                    Some(b) => Ok(Ok(CV::Bool(b))),
                    None => {
                        let c = match &mut cctx {
                            Some(c) => c,
                            slot @ None => match interpreter() {
                                Ok(c) => slot.insert(c),
                                Err(e) => {
                                    let d = format!("cel_error: {}", e.detail());
                                    return block(Value::Null, d);
                                }
                            },
                        };
                        catch_unwind(AssertUnwindSafe(|| r.compiled.program.execute(c)))
                    }
                };
                let b = match res {
                    Ok(Ok(CV::Bool(b))) => b,
                    Ok(Ok(other)) => {
                        return block(
                            obs(),
                            format!(
                                "cel_error: rule[{i}] returned {:?}, not a bool",
                                other.type_of()
                            ),
                        )
                    }
                    Ok(Err(e)) => return block(obs(), format!("cel_error: rule[{i}]: {e}")),
                    Err(_) => return block(obs(), format!("cel_error: rule[{i}] panicked")),
                };
                if b {
                    continue;
                }
                let detail = r
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("rule[{i}] is false: {}", r.expr));
                match r.on_false {
                    Decision::Block => return block(obs(), detail),
                    _ => {
                        if hold.is_none() {
                            hold = Some(Evaluation::of(
                                key,
                                Decision::RequestHold,
                                obs(),
                                Value::Null,
                                detail,
                            ));
                        }
                    }
                }
            }
            hold.unwrap_or_else(|| {
                // Written without `format!`, whose machinery costs more than a fast rule.
                let mut detail = String::with_capacity(24);
                detail.push_str(itoa::Buffer::new().format(rules.rules.len()));
                detail.push_str(" rules hold");
                Evaluation::of(key, Decision::Allow, Value::Null, Value::Null, detail)
            })
        }
    }
}

#[cfg(feature = "cel")]
pub use imp::json_to_cel;

#[cfg(feature = "cel-fast")]
mod fast;

/// Without `cel-fast` every rule runs in the interpreter (smaller, for WASM).
#[cfg(all(feature = "cel", not(feature = "cel-fast")))]
mod fast {
    use crate::constraints::EvalContext;
    use crate::state::StateSnapshot;

    pub(crate) enum Node {}

    pub(crate) fn compile(_: &cel::IdedExpr) -> Option<Node> {
        None
    }

    pub(crate) fn eval(n: &Node, _: &EvalContext, _: &StateSnapshot) -> Option<bool> {
        match *n {}
    }
}

#[cfg(all(test, feature = "cel"))]
mod tests;
