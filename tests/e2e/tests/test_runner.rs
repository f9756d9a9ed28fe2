//! `scripts/summary.sh`, the summary `scripts/test.sh` (and so CI) ends with, told real
//! shapes of `cargo test` output: a binary that aborts, a build that fails before any test,
//! a filter that runs nothing. None of them may read as "0 failed".

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

/// Runs the summary script on `log` with `args`: (exit code, output).
fn summarize(log: &str, args: &[&str]) -> (i32, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/summary.sh");
    let mut file = tempfile();
    file.1.write_all(log.as_bytes()).expect("write the log");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&file.0)
        .args(args)
        .output()
        .expect("run scripts/summary.sh");
    let _ = std::fs::remove_file(&file.0);
    (
        out.status.code().expect("summary.sh exited by a signal"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn tempfile() -> (PathBuf, std::fs::File) {
    let path = std::env::temp_dir().join(format!(
        "dreamster-summary-{}-{}.log",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos()
    ));
    let file = std::fs::File::create(&path).expect("create the log");
    (path, file)
}

const GOOD: &str = "     Running unittests src/lib.rs (/t/debug/deps/dreamster_types-1)

running 2 tests
test a ... ok
test b ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

     Running tests/webhooks.rs (/t/debug/deps/webhooks-2)

running 2 tests
test c ... ok
test d ... ignored

test result: ok. 1 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s

   Doc-tests dreamster_types

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";

#[test]
fn a_clean_run_sums_every_binary() {
    let (code, out) = summarize(GOOD, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim(), "summary: 3 passed, 0 failed, 1 skipped");
}

#[test]
fn a_binary_that_aborts_is_a_failure_by_name() {
    let log = format!(
        "{GOOD}
     Running tests/browser.rs (/t/debug/deps/browser-3)

running 4 tests
test e ... ok
thread 'f' panicked at 'panic in a destructor during cleanup'
error: test failed, to rerun pass `-p dreamster-api --test browser`

Caused by:
  process didn't exit successfully: `/t/debug/deps/browser-3` (signal: 6, SIGABRT: process abort signal)
"
    );
    let (code, out) = summarize(&log, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(
            "summary: 3 passed, 1 failed, 1 skipped (1 of 4 test binaries ended without a result)"
        ),
        "{out}"
    );
    assert!(
        out.contains("no result from: Running tests/browser.rs"),
        "{out}"
    );
}

#[test]
fn a_build_that_fails_before_the_tests_is_not_a_pass() {
    let log = "   Compiling dreamster-api v0.1.0\nerror[E0308]: mismatched types\nerror: could not compile `dreamster-api`\n";
    let (code, out) = summarize(log, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no test binary ran"), "{out}");
    let (code, out) = summarize("", &["--stopped", "during setup (exit 1)"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("summary: 0 passed, 1 failed, 0 skipped"),
        "{out}"
    );
    assert!(
        out.contains("stopped before its tests ended: during setup (exit 1)"),
        "{out}"
    );
}

#[test]
fn a_soak_run_must_be_exactly_one_test() {
    let one = "     Running unittests lib.rs (/t/release/deps/dreamster_release-4)

running 1 test
test sequences::money_balances_after_every_step ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 412 filtered out; finished in 240.70s
";
    assert_eq!(summarize(one, &["--one"]).0, 0);
    // The test was renamed: the filter matches nothing and cargo says "ok".
    let none = one
        .replace(
            "running 1 test\ntest sequences::money_balances_after_every_step ... ok\n",
            "running 0 tests\n",
        )
        .replace("1 passed", "0 passed");
    let (code, out) = summarize(&none, &["--one"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected exactly one test to run, 0 ran"),
        "{out}"
    );
    // Without --one the same log is a (vacuous) pass: the flag is what catches it.
    assert_eq!(summarize(&none, &[]).0, 0);
}

#[test]
fn a_failed_step_beside_the_tests_is_counted_and_named() {
    let (code, out) = summarize(
        GOOD,
        &[
            "--also",
            "eslint found problems in api/web",
            "--also",
            "scripts/soak.sh --short",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("summary: 3 passed, 2 failed, 1 skipped"),
        "{out}"
    );
    assert!(
        out.contains("failed besides the tests: eslint found problems in api/web"),
        "{out}"
    );
    assert!(
        out.contains("failed besides the tests: scripts/soak.sh --short"),
        "{out}"
    );
}
