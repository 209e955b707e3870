use super::*;
use crate::constraints::{EvalContext, PassportInfo};
use crate::target::Target;
use crate::time::Timestamp;
use serde_json::json;

fn ctx() -> EvalContext<'static> {
    let mut c = EvalContext::new("email:send", Timestamp::from_unix_millis(1_767_225_600_000));
    c.target = Some(Target::parse("https://API.example.com/v1/send").unwrap());
    c.cost_cents = 250;
    c.metadata = std::borrow::Cow::Owned(
        json!({"to": ["a", "b"], "count": 3, "big": 18446744073709551615u64, "ratio": 0.5}),
    );
    c.passport = PassportInfo {
        passport_id: "pp_1",
        agent_id: "agent_1",
        issuer: "iss",
        tier: "L1",
        permission: "email",
    };
    c
}

fn run(expr: &str) -> Evaluation {
    let e = CelEngine::new();
    let rules = e
        .parse_rules(
            "core:cel:rules",
            &json!([{"expr": expr, "on_false": "block"}]),
        )
        .unwrap();
    let st = StateSnapshot {
        spend_day: 9750,
        count_minute: 2,
        ..Default::default()
    };
    e.evaluate(&"core:cel:rules".into(), &rules, &ctx(), &st)
}

fn allows(expr: &str) -> bool {
    let ev = run(expr);
    assert!(!ev.detail.starts_with("cel_error"), "{expr}: {}", ev.detail);
    ev.outcome == Decision::Allow
}

#[test]
fn json_ints_are_cel_ints() {
    assert!(allows("1 + request.cost_cents == 251"));
    assert!(allows("request.cost_cents + 1 == 251"));
    assert!(allows("request.metadata.count * 2 == 6"));
    assert!(allows("request.metadata.big == 18446744073709551615u"));
    assert!(allows("request.metadata.ratio < 1.0"));
    assert!(allows("state.spend.day + request.cost_cents == 10000"));
    assert!(allows("state.count.minute < 3"));
    assert!(allows("now == 1767225600000"));
    assert!(!allows("request.cost_cents > 1000"));
}

#[test]
fn strings_and_variables() {
    assert!(allows("request.host == 'api.example.com'"));
    assert!(allows("request.host.endsWith('.example.com')"));
    assert!(allows("request.path.startsWith('/v1/')"));
    assert!(allows("request.action.contains('send')"));
    assert!(allows(
        "size(request.metadata.to) == 2 && 'a' in request.metadata.to"
    ));
    assert!(allows("request.action.split(':')[0] == 'email'"));
    assert!(allows("request.action.upperAscii() == 'EMAIL:SEND'"));
    assert!(allows(
        "passport.tier == 'L1' && passport.permission == 'email'"
    ));
    assert!(allows("request.metadata.to.all(x, size(x) == 1)"));
    assert!(allows(
        "has(request.metadata.count) && !has(request.metadata.nope)"
    ));
}

#[test]
fn runtime_errors_block_with_cel_error() {
    let ev = run("request.metadata.nope == 1");
    assert_eq!(ev.outcome, Decision::Block);
    assert!(ev.detail.starts_with("cel_error"), "{}", ev.detail);
    let ev = run("request.cost_cents");
    assert!(ev.detail.contains("not a bool"), "{}", ev.detail);
    let ev = run("request.cost_cents / 0 == 1");
    assert!(ev.detail.starts_with("cel_error"), "{}", ev.detail);
}

#[test]
fn holds_and_messages() {
    let e = CelEngine::new();
    let rules = e
        .parse_rules(
            "core:cel:rules",
            &json!([
                {"expr": "request.cost_cents < 100", "on_false": "request_hold", "message": "over $1"},
                {"expr": "true"}
            ]),
        )
        .unwrap();
    let ev = e.evaluate(
        &"core:cel:rules".into(),
        &rules,
        &ctx(),
        &StateSnapshot::default(),
    );
    assert_eq!(
        (ev.outcome, &*ev.detail),
        (Decision::RequestHold, "over $1")
    );
}

fn compile_err(expr: &str) -> Error {
    CelEngine::new().check(expr).unwrap_err()
}

#[test]
fn bad_syntax_is_a_cel_error_with_position() {
    let e = compile_err("request.cost_cents +");
    assert_eq!(e.code(), Code::CelError);
    assert!(e.detail().contains("1:"), "{}", e.detail());
    let e = CelEngine::new()
        .parse_rules("core:cel:rules", &json!([{"expr": "1 +* 2"}]))
        .unwrap_err();
    assert_eq!(e.code(), Code::CelError);
    assert!(
        e.detail().starts_with("core:cel:rules: rule[0]: "),
        "{}",
        e.detail()
    );
}

#[test]
fn bad_shapes_are_constraint_invalid() {
    let e = CelEngine::new();
    for v in [
        json!("true"),
        json!([]),
        json!([{"expr": 1}]),
        json!([{"expr": "true", "on_false": "allow"}]),
        json!([{"expr": "true", "extra": 1}]),
    ] {
        assert_eq!(
            e.parse_rules("core:cel:rules", &v).unwrap_err().code(),
            Code::ConstraintInvalid,
            "{v}"
        );
    }
}

#[test]
fn deep_and_huge_inputs_are_refused_before_parsing() {
    // Run on the 2 MiB stack a test thread has (debug build: the worst case).
    let h = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let deep = format!("{}1{}", "[".repeat(1000), "]".repeat(1000));
            assert!(compile_err(&deep).detail().contains("brackets nest"));
            let deep = format!("{}1{}", "(".repeat(9), ")".repeat(9));
            assert!(compile_err(&deep).detail().contains("brackets nest"));
            let ok = format!("{}1{} == 1", "(".repeat(8), ")".repeat(8));
            assert!(CelEngine::new().check(&ok).is_ok());
            let unary = format!("{}true", "!".repeat(100));
            assert!(compile_err(&unary).detail().contains("unary"));
            let neg = format!("{}1 == 1", "-".repeat(100));
            assert!(compile_err(&neg).detail().contains("unary"));
            let chain = format!("1{} == 1", " + 1".repeat(1000));
            assert!(compile_err(&chain).detail().contains("binary operators"));
            let huge = format!("'{}' == ''", "a".repeat(5000));
            assert!(compile_err(&huge).detail().contains("bytes"));
            let comp = "[1].all(x, [1].all(y, [1].all(z, true)))";
            assert!(compile_err(comp).detail().contains("comprehensions"));
            assert!(CelEngine::new().check("[1].all(x, [1].all(y, x == y))").is_ok());
            let many = "[1].all(x, true) && [1].all(x, true) && [1].all(x, true) && [1].all(x, true) && [1].all(x, true)";
            assert!(compile_err(many).detail().contains("more than 4 comprehensions"));
            let repl = "'a'.replace('a', 'aa') == 'aa'";
            assert!(compile_err(repl).detail().contains("replace"));
            // Brackets inside strings do not count.
            assert!(CelEngine::new().check("'((((((((((((((((((((' != '' && '.....................................................................' != ''").is_ok());
            // Adversarial input from cel-rust #306 style: many opening calls.
            let calls = format!("{}1", "f(".repeat(2000));
            assert!(compile_err(&calls).detail().contains("brackets nest"));
            let sel = format!("request{} == 1", ".a".repeat(1500));
            assert!(compile_err(&sel).detail().contains("selections"));
        })
        .unwrap();
    h.join().unwrap();
}

#[test]
fn compile_cache_is_bounded_and_reused() {
    let e = CelEngine::new();
    e.check("1 == 1").unwrap();
    e.check("1 == 1").unwrap();
    assert_eq!(e.cached(), 1);
    for i in 0..(CACHE_CAPACITY + 5) {
        e.check(&format!("{i} == {i}")).unwrap();
    }
    assert!(e.cached() <= CACHE_CAPACITY);
}

#[test]
fn context_bounds_block() {
    let e = CelEngine::new();
    let rules = e
        .parse_rules(
            "core:cel:rules",
            &json!([{"expr": "size(request.metadata) >= 0"}]),
        )
        .unwrap();
    let mut c = ctx();
    c.metadata = std::borrow::Cow::Owned(json!({"l": vec![0; MAX_CONTEXT_LIST + 1]}));
    let ev = e.evaluate(
        &"core:cel:rules".into(),
        &rules,
        &c,
        &StateSnapshot::default(),
    );
    assert_eq!(ev.outcome, Decision::Block);
    assert!(ev.detail.contains("more than 128 items"), "{}", ev.detail);
    // Metadata that no rule reads is never converted, so its size cannot matter.
    let rules = e
        .parse_rules(
            "core:cel:rules",
            &json!([{"expr": "request.cost_cents >= 0"}]),
        )
        .unwrap();
    let ev = e.evaluate(
        &"core:cel:rules".into(),
        &rules,
        &c,
        &StateSnapshot::default(),
    );
    assert_eq!(ev.outcome, Decision::Allow, "{}", ev.detail);
}

/// Only what rules read is built; every way of reading a variable still sees all of it.
#[test]
fn rules_see_everything_they_read() {
    let e = CelEngine::new();
    let st = StateSnapshot {
        count_minute: 2,
        spend_day: 700,
        ..Default::default()
    };
    let run = |exprs: &[&str]| {
        let rules: Vec<_> = exprs.iter().map(|x| json!({"expr": x})).collect();
        let rules = e.parse_rules("core:cel:rules", &json!(rules)).unwrap();
        e.evaluate(&"core:cel:rules".into(), &rules, &ctx(), &st)
    };
    for exprs in [
        &["request.action == 'email:send'"][..],
        &["has(request.metadata)", "request.cost_cents >= 0"],
        &["request['action'] == 'email:send' && size(request) == 6"],
        &["'host' in request", "'cost_cents' in request"],
        &["request.exists(k, k == 'path')"],
        &["[request].all(r, has(r.metadata) && has(r.target))"],
        &["size(passport) == 5", "passport.agent != ''"],
        &["state.count.minute == 2 && state.spend.day == 700"],
        &["size(state) == 4"],
        &["now > 0", "[1].all(now, now == 1)"],
        // A comprehension variable named like a variable: the outer one is still complete.
        &["[{'x': 1}].all(request, request.x == 1) && has(request.metadata)"],
    ] {
        let ev = run(exprs);
        assert_eq!(ev.outcome, Decision::Allow, "{exprs:?}: {}", ev.detail);
    }
    // A field that does not exist is an error whether or not other fields are built.
    let ev = run(&["request.nonexistent == 1"]);
    assert_eq!(ev.outcome, Decision::Block);
    assert!(ev.detail.starts_with("cel_error"), "{}", ev.detail);
}

/// Behaviours of `cel` =0.15.0 that rules rely on; an upgrade that changes one fails here.
#[test]
fn pinned_cel_behaviours() {
    assert!(allows("size('héllo') == 5")); // code points, not bytes
    assert!(allows("1 in [1, 2]"));
    assert!(allows("'abc'.contains('b')"));
    assert!(allows("1 == 1.0")); // cross-type numeric equality
    assert!(allows("request.metadata.to.exists(x, x == 'b')"));
    assert!(allows("request.metadata.to.filter(x, x != 'a') == ['b']"));
    assert!(allows(
        "request.metadata.to.map(x, x + '!') == ['a!', 'b!']"
    ));
    assert!(allows("request.metadata.to.exists_one(x, x == 'a')"));
    assert!(allows("type(request.cost_cents) == int"));
    assert!(allows("int('42') + 1 == 43"));
    assert!(allows("string(request.cost_cents) == '250'"));
    assert!(allows(
        "request.target.startsWith('https://api.example.com/')"
    ));
    assert!(allows("request.action.lowerAscii().split(':').size() == 2"));
    // `matches` needs the regex feature, which is off: a rule using it fails closed.
    assert_eq!(run("request.action.matches('^e')").outcome, Decision::Block);
}

#[test]
fn random_expressions_never_crash_the_parser() {
    // Random token soup on a 2 MiB stack (a debug test thread): every input either passes the
    // bounds and compiles, or is a cel_error; nothing panics or overflows.
    let h = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let tokens = [
                "(",
                ")",
                "[",
                "]",
                "{",
                "}",
                "1",
                "1u",
                "1.5",
                "'s'",
                "\"t\"",
                "request",
                ".cost_cents",
                ".host",
                "+",
                "-",
                "*",
                "/",
                "%",
                "==",
                "!=",
                "<",
                ">=",
                "&&",
                "||",
                "!",
                "?",
                ":",
                ",",
                "in",
                "size(",
                ".all(x,",
                "x",
                "true",
                "null",
                " ",
            ];
            let mut x: u64 = 0x2545_f491_4f6c_dd1d;
            let mut next = || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let engine = CelEngine::new();
            let n = std::env::var("FUZZ_N")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(400);
            for _ in 0..n {
                let len = 1 + next() % 60;
                let expr: String = (0..len)
                    .map(|_| tokens[(next() % tokens.len() as u64) as usize])
                    .collect();
                match engine.parse_rules("k", &json!([{ "expr": expr }])) {
                    Err(e) => assert_eq!(e.code(), Code::CelError, "{expr}"),
                    // Whatever it computes, running it decides without panicking.
                    Ok(rules) => {
                        let _ =
                            engine.evaluate(&"k".into(), &rules, &ctx(), &StateSnapshot::default());
                    }
                }
            }
        })
        .unwrap();
    h.join().unwrap();
}

/// Found by the `cel_eval` fuzz target: a syntax error whose message is longer than 1024 bytes
/// with a multi-byte character across byte 1024 panicked while the message was shortened.
#[test]
fn long_syntax_error_with_multibyte_text_is_an_error_not_a_panic() {
    let crash: &[u8] = &[
        115, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 115, 116, 46, 109, 101, 116, 97, 100, 97, 116, 97,
        46, 116, 120, 105, 115, 116, 115, 216, 147, 44, 32, 116, 32, 54, 52,
    ];
    let e = CelEngine::new();
    let r = e.check(std::str::from_utf8(crash).unwrap());
    assert_eq!(r.unwrap_err().code(), Code::CelError);
    // Every cut position of a long message with multi-byte text.
    for pad in 0..8 {
        let expr = format!("{}{}", "a".repeat(pad), "é(".repeat(700));
        let r = e.check(&expr);
        assert!(r.is_err());
    }
}

/// Random rules over the direct evaluator's subset (and a little outside it), random requests
/// and state: the engine that answers directly where it can must give exactly the evaluation
/// of the interpreter-only engine, every time.
#[cfg(feature = "cel-fast")]
#[test]
fn fast_rules_agree_with_the_interpreter() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    // Mostly well-typed rules (so the direct evaluator answers), with a few atoms of the wrong
    // type or outside the subset mixed in (so it must defer).
    const INTS: &[&str] = &[
        "0",
        "1",
        "-3",
        "100",
        "9223372036854775807",
        "now",
        "request.cost_cents",
        "state.count.minute",
        "state.count.day",
        "state.spend.day",
        "state.spend.total",
        "state.recent_5m",
        "state.baseline_30m",
    ];
    const STRS: &[&str] = &[
        "''",
        "'a'",
        "'example.com'",
        "'L1'",
        "'email:send'",
        "request.action",
        "request.target",
        "request.host",
        "request.path",
        "passport.id",
        "passport.agent",
        "passport.issuer",
        "passport.tier",
        "passport.permission",
    ];
    const WILD: &[&str] = &[
        "null",
        "true",
        "1u",
        "1.5",
        "request.metadata.count",
        "size(request.action)",
        "request.nope",
        "'x'",
        "7",
    ];
    type Next<'a> = &'a mut dyn FnMut(usize) -> usize;
    fn atom(pool: &[&str], next: Next<'_>) -> String {
        if next(12) == 0 {
            WILD[next(WILD.len())].to_string()
        } else {
            pool[next(pool.len())].to_string()
        }
    }
    fn int(depth: usize, next: Next<'_>) -> String {
        if depth == 0 || next(3) == 0 {
            return atom(INTS, next);
        }
        match next(3) {
            0 => format!("-{}", int(depth - 1, next)),
            1 => {
                let c = boolean(depth - 1, next);
                let (a, b) = (int(depth - 1, next), int(depth - 1, next));
                format!("({c} ? {a} : {b})")
            }
            _ => {
                let (a, b) = (int(depth - 1, next), int(depth - 1, next));
                format!("({a} {} {b})", ["+", "-", "*"][next(3)])
            }
        }
    }
    fn string(depth: usize, next: Next<'_>) -> String {
        if depth == 0 || next(2) == 0 {
            return atom(STRS, next);
        }
        let c = boolean(depth - 1, next);
        let (a, b) = (string(depth - 1, next), string(depth - 1, next));
        format!("({c} ? {a} : {b})")
    }
    fn boolean(depth: usize, next: Next<'_>) -> String {
        if depth == 0 {
            return atom(&["true", "false"], next);
        }
        let d = depth - 1;
        match next(7) {
            0 => format!("!{}", boolean(d, next)),
            1 => {
                let (a, b) = (boolean(d, next), boolean(d, next));
                format!("({a} {} {b})", ["&&", "||", "==", "!="][next(4)])
            }
            2 => {
                let (a, b) = (int(d, next), int(d, next));
                format!("({a} {} {b})", ["==", "!=", "<", "<=", ">", ">="][next(6)])
            }
            3 => {
                let (a, b) = (string(d, next), string(d, next));
                format!("({a} {} {b})", ["==", "!=", "<", "<=", ">", ">="][next(6)])
            }
            4 => {
                let (a, b) = (string(d, next), string(d, next));
                format!(
                    "{a}.{}({b})",
                    ["startsWith", "endsWith", "contains"][next(3)]
                )
            }
            5 => {
                let x = string(d, next);
                let (a, b) = (string(d, next), string(d, next));
                format!("{x} in [{a}, {b}]")
            }
            _ => {
                let x = int(d, next);
                let (a, b) = (int(d, next), atom(INTS, next));
                format!("{x} in [{a}, {b}]")
            }
        }
    }
    let direct = CelEngine::new();
    let reference = CelEngine::interpreter_only();
    let contexts: Vec<(EvalContext, StateSnapshot)> = (0..6)
        .map(|i| {
            let mut c = ctx();
            c.target = [
                None,
                Some(Target::parse("https://api.example.com/v1").unwrap()),
                Some(Target::parse("db:users").unwrap()),
            ][i % 3]
                .clone();
            c.cost_cents = [0, 1, 250, -5, i64::MAX, i64::MIN][i];
            c.action = ["email:send", "a", ""][i % 3];
            let st = StateSnapshot {
                count_minute: [0, 3, u64::MAX][i % 3],
                count_day: [1, u64::MAX, 7][i % 3],
                spend_day: [0, 9750, i64::MAX, i64::MIN, -1, 5][i],
                spend_total: [100, i64::MIN][i % 2],
                recent_5m: i as u64,
                baseline_30m: (i * 7) as u64,
                ..Default::default()
            };
            (c, st)
        })
        .collect();
    let (mut answered, mut total) = (0usize, 0usize);
    for i in 0..4000 {
        let expr = boolean(2 + i % 3, &mut next);
        let on_false = ["block", "request_hold"][next(2)];
        let rule = json!([{"expr": expr, "on_false": on_false}]);
        let (a, b) = (
            direct.parse_rules("core:cel:rules", &rule),
            reference.parse_rules("core:cel:rules", &rule),
        );
        let (Ok(a), Ok(b)) = (a, b) else { continue };
        for (c, st) in &contexts {
            total += 1;
            let fast = a.rules[0].compiled.fast.as_ref();
            answered += usize::from(fast.and_then(|n| fast::eval(n, c, st)).is_some());
            assert_eq!(
                direct.evaluate(&"core:cel:rules".into(), &a, c, st),
                reference.evaluate(&"core:cel:rules".into(), &b, c, st),
                "{expr}"
            );
        }
    }
    // The test means something only if the direct path answers often, and defers too.
    assert!(
        answered * 3 > total && answered < total,
        "answered {answered} of {total}"
    );
}

#[cfg(feature = "cel-fast")]
#[test]
fn the_usual_rules_are_answered_directly() {
    let e = CelEngine::new();
    for expr in [
        "request.cost_cents + 1 <= 10000 && request.host.endsWith('example.com')",
        "passport.tier in ['L2', 'L3'] || request.action.startsWith('read:')",
        "state.spend.day + request.cost_cents < 50000 ? true : now > 0",
        "!(request.path.contains('/admin'))",
    ] {
        let rules = e
            .parse_rules("core:cel:rules", &json!([{"expr": expr}]))
            .unwrap();
        let node = rules.rules[0].compiled.fast.as_ref().expect(expr);
        assert!(
            fast::eval(node, &ctx(), &StateSnapshot::default()).is_some(),
            "{expr}"
        );
    }
    // Metadata (its conversion has limits), macros and doubles go to the interpreter.
    for expr in [
        "request.metadata.count == 3",
        "[1, 2].all(x, x > 0)",
        "request.cost_cents < 1.5",
        "has(request.host)",
    ] {
        let rules = e
            .parse_rules("core:cel:rules", &json!([{"expr": expr}]))
            .unwrap();
        assert!(rules.rules[0].compiled.fast.is_none(), "{expr}");
    }
}
