//! A direct evaluator for the common shape of rules, beside the `cel` interpreter.
//!
//! Most rules compare a few request, passport or state fields with literals:
//! `request.cost_cents + 1 <= 10000 && request.host.endsWith('example.com')`. The `cel`
//! interpreter spends far more on building its variable maps and converting values than on
//! such a comparison (about 2 µs a rule), so rules made only of the pieces below are compiled
//! a second time, to a small tree that reads the gate's data in place.
//!
//! The interpreter stays the definition. The tree answers only when the answer is certain:
//! every operand of the expected kind, no overflow, nothing missing. Anything else (an error
//! the interpreter would report, a type it would convert, a value it would build) makes
//! [`eval`] return `None`, and the rule is run by the interpreter as if this module did not
//! exist. `tests::fast_rules_agree_with_the_interpreter` checks the agreement on random
//! rules and requests.
//!
//! The subset: `int`, `string`, `bool` and `null` literals; the fields `request.action`,
//! `.target`, `.host`, `.path`, `.cost_cents`; `passport.id`, `.agent`, `.issuer`, `.tier`,
//! `.permission`; `state.count.minute|hour|day`, `state.spend.hour|day|month|total`,
//! `state.recent_5m`, `state.baseline_30m`; `now`; `!`, unary `-`, `&&`, `||`, `? :`,
//! `+ - *` on ints, `== != < <= > >=`, `in` a list literal, and the string methods
//! `startsWith`, `endsWith`, `contains`. Not `request.metadata` (its conversion has limits
//! that can fail), macros, or anything else.

use crate::constraints::EvalContext;
use crate::state::StateSnapshot;
use cel::common::ast::{operators as op, Expr, LiteralValue};
use cel::IdedExpr;

/// A compiled rule of the subset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Int(i64),
    Bool(bool),
    Str(String),
    Null,
    Field(Field),
    Not(Box<Node>),
    Neg(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cond(Box<[Node; 3]>),
    Bin(Bin, Box<Node>, Box<Node>),
    In(Box<Node>, Vec<Node>),
}

/// A field of the rule variables, as the interpreter binds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Field {
    Action,
    Target,
    Host,
    Path,
    CostCents,
    PassportId,
    Agent,
    Issuer,
    Tier,
    Permission,
    CountMinute,
    CountHour,
    CountDay,
    SpendHour,
    SpendDay,
    SpendMonth,
    SpendTotal,
    Recent5m,
    Baseline30m,
    Now,
}

/// A binary operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Bin {
    Add,
    Sub,
    Mul,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    StartsWith,
    EndsWith,
    Contains,
}

/// A value during evaluation (strings borrowed from the rule or the request).
#[derive(Debug, Clone, Copy, PartialEq)]
enum V<'a> {
    Int(i64),
    Bool(bool),
    Str(&'a str),
    Null,
}

/// Compiles `e` if it is entirely in the subset.
pub(crate) fn compile(e: &IdedExpr) -> Option<Node> {
    Some(match &e.expr {
        Expr::Literal(l) => match l {
            LiteralValue::Int(i) => Node::Int(*i.inner()),
            LiteralValue::Boolean(b) => Node::Bool(*b.inner()),
            LiteralValue::String(s) => Node::Str(s.inner().to_owned()),
            LiteralValue::Null => Node::Null,
            _ => return None,
        },
        Expr::Ident(name) if name == "now" => Node::Field(Field::Now),
        Expr::Select(sel) if !sel.test => Node::Field(field(&sel.operand.expr, &sel.field)?),
        Expr::Call(c) => {
            let f = c.func_name.as_str();
            let args = &c.args;
            let arg = |i: usize| args.get(i).and_then(compile).map(Box::new);
            match (&c.target, args.len()) {
                (Some(t), 1) => {
                    let b = match f {
                        "startsWith" => Bin::StartsWith,
                        "endsWith" => Bin::EndsWith,
                        "contains" => Bin::Contains,
                        _ => return None,
                    };
                    Node::Bin(b, Box::new(compile(t)?), arg(0)?)
                }
                (Some(_), _) => return None,
                (None, 1) => match f {
                    op::LOGICAL_NOT => Node::Not(arg(0)?),
                    op::NEGATE => Node::Neg(arg(0)?),
                    _ => return None,
                },
                (None, 2) => match f {
                    op::LOGICAL_AND => Node::And(arg(0)?, arg(1)?),
                    op::LOGICAL_OR => Node::Or(arg(0)?, arg(1)?),
                    op::IN => match &args[1].expr {
                        Expr::List(l) if l.optional_indices.is_empty() => Node::In(
                            arg(0)?,
                            l.elements.iter().map(compile).collect::<Option<_>>()?,
                        ),
                        _ => return None,
                    },
                    _ => {
                        let b = match f {
                            op::ADD => Bin::Add,
                            op::SUBSTRACT => Bin::Sub,
                            op::MULTIPLY => Bin::Mul,
                            op::EQUALS => Bin::Eq,
                            op::NOT_EQUALS => Bin::Ne,
                            op::LESS => Bin::Lt,
                            op::LESS_EQUALS => Bin::Le,
                            op::GREATER => Bin::Gt,
                            op::GREATER_EQUALS => Bin::Ge,
                            _ => return None,
                        };
                        Node::Bin(b, arg(0)?, arg(1)?)
                    }
                },
                (None, 3) if f == op::CONDITIONAL => {
                    Node::Cond(Box::new([*arg(0)?, *arg(1)?, *arg(2)?]))
                }
                _ => return None,
            }
        }
        _ => return None,
    })
}

fn field(operand: &Expr, name: &str) -> Option<Field> {
    use Field::*;
    Some(match operand {
        Expr::Ident(var) => match (var.as_str(), name) {
            ("request", "action") => Action,
            ("request", "target") => Target,
            ("request", "host") => Host,
            ("request", "path") => Path,
            ("request", "cost_cents") => CostCents,
            ("passport", "id") => PassportId,
            ("passport", "agent") => Agent,
            ("passport", "issuer") => Issuer,
            ("passport", "tier") => Tier,
            ("passport", "permission") => Permission,
            ("state", "recent_5m") => Recent5m,
            ("state", "baseline_30m") => Baseline30m,
            _ => return None,
        },
        Expr::Select(inner) if !inner.test => match (&inner.operand.expr, inner.field.as_str()) {
            (Expr::Ident(v), "count") if v == "state" => match name {
                "minute" => CountMinute,
                "hour" => CountHour,
                "day" => CountDay,
                _ => return None,
            },
            (Expr::Ident(v), "spend") if v == "state" => match name {
                "hour" => SpendHour,
                "day" => SpendDay,
                "month" => SpendMonth,
                "total" => SpendTotal,
                _ => return None,
            },
            _ => return None,
        },
        _ => return None,
    })
}

/// The rule's value when it is certain; `None` hands the rule to the interpreter.
pub(crate) fn eval(n: &Node, ctx: &EvalContext, st: &StateSnapshot) -> Option<bool> {
    match value(n, ctx, st)? {
        V::Bool(b) => Some(b),
        _ => None,
    }
}

fn value<'a>(n: &'a Node, ctx: &'a EvalContext, st: &StateSnapshot) -> Option<V<'a>> {
    let int = |x: u64| V::Int(i64::try_from(x).unwrap_or(i64::MAX));
    let opt = |x: Option<&'a str>| x.map_or(V::Null, V::Str);
    Some(match n {
        Node::Int(i) => V::Int(*i),
        Node::Bool(b) => V::Bool(*b),
        Node::Str(s) => V::Str(s),
        Node::Null => V::Null,
        Node::Field(f) => {
            let t = ctx.target.as_ref();
            let p = &ctx.passport;
            match f {
                Field::Action => V::Str(ctx.action),
                Field::Target => opt(t.map(|t| t.as_str())),
                Field::Host => opt(t.and_then(|t| t.host())),
                Field::Path => opt(t.map(|t| t.path())),
                Field::CostCents => V::Int(ctx.cost_cents),
                Field::PassportId => V::Str(p.passport_id),
                Field::Agent => V::Str(p.agent_id),
                Field::Issuer => V::Str(p.issuer),
                Field::Tier => V::Str(p.tier),
                Field::Permission => V::Str(p.permission),
                Field::CountMinute => int(st.count_minute),
                Field::CountHour => int(st.count_hour),
                Field::CountDay => int(st.count_day),
                Field::SpendHour => V::Int(st.spend_hour),
                Field::SpendDay => V::Int(st.spend_day),
                Field::SpendMonth => V::Int(st.spend_month),
                Field::SpendTotal => V::Int(st.spend_total),
                Field::Recent5m => int(st.recent_5m),
                Field::Baseline30m => int(st.baseline_30m),
                Field::Now => V::Int(ctx.now.unix_millis()),
            }
        }
        Node::Not(x) => match value(x, ctx, st)? {
            V::Bool(b) => V::Bool(!b),
            _ => return None,
        },
        Node::Neg(x) => match value(x, ctx, st)? {
            V::Int(i) => V::Int(i.checked_neg()?),
            _ => return None,
        },
        // Both sides always: CEL's `&&` and `||` are commutative over errors, so an error on
        // one side is left to the interpreter, which knows what the other side makes of it.
        Node::And(a, b) => match (value(a, ctx, st)?, value(b, ctx, st)?) {
            (V::Bool(x), V::Bool(y)) => V::Bool(x && y),
            _ => return None,
        },
        Node::Or(a, b) => match (value(a, ctx, st)?, value(b, ctx, st)?) {
            (V::Bool(x), V::Bool(y)) => V::Bool(x || y),
            _ => return None,
        },
        Node::Cond(c) => match value(&c[0], ctx, st)? {
            V::Bool(true) => value(&c[1], ctx, st)?,
            V::Bool(false) => value(&c[2], ctx, st)?,
            _ => return None,
        },
        Node::Bin(b, x, y) => binary(*b, value(x, ctx, st)?, value(y, ctx, st)?)?,
        Node::In(x, list) => {
            let x = value(x, ctx, st)?;
            let mut found = false;
            for e in list {
                match binary(Bin::Eq, x, value(e, ctx, st)?)? {
                    V::Bool(eq) => found |= eq,
                    _ => return None,
                }
            }
            V::Bool(found)
        }
    })
}

/// Same-kind operands only: what the interpreter does across kinds is left to it.
fn binary<'a>(b: Bin, x: V<'a>, y: V<'a>) -> Option<V<'a>> {
    use std::cmp::Ordering::*;
    let ord = match (x, y) {
        (V::Int(a), V::Int(c)) => Some(a.cmp(&c)),
        (V::Str(a), V::Str(c)) => Some(a.cmp(c)),
        _ => None,
    };
    let same = match (x, y) {
        (V::Int(a), V::Int(c)) => a == c,
        (V::Str(a), V::Str(c)) => a == c,
        (V::Bool(a), V::Bool(c)) => a == c,
        (V::Null, V::Null) => true,
        _ => return None,
    };
    Some(match b {
        Bin::Eq => V::Bool(same),
        Bin::Ne => V::Bool(!same),
        Bin::Lt => V::Bool(ord? == Less),
        Bin::Le => V::Bool(ord? != Greater),
        Bin::Gt => V::Bool(ord? == Greater),
        Bin::Ge => V::Bool(ord? != Less),
        Bin::Add | Bin::Sub | Bin::Mul => match (x, y) {
            (V::Int(a), V::Int(c)) => V::Int(match b {
                Bin::Add => a.checked_add(c)?,
                Bin::Sub => a.checked_sub(c)?,
                _ => a.checked_mul(c)?,
            }),
            _ => return None,
        },
        Bin::StartsWith | Bin::EndsWith | Bin::Contains => match (x, y) {
            (V::Str(a), V::Str(c)) => V::Bool(match b {
                Bin::StartsWith => a.starts_with(c),
                Bin::EndsWith => a.ends_with(c),
                _ => a.contains(c),
            }),
            _ => return None,
        },
    })
}
