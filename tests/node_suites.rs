//! Runs the Node suites as part of `cargo test`: the unchanged Hanko SDK against a real Tessera process
//! (`tests/sdk`) and real WebAuthn ceremonies in headless Chromium (`tests/browser`). Both start the `tessera`
//! binary that Cargo built for this test run.
//!
//! When Node or Chromium is missing the suite says so and is skipped, except under CI (`CI` set), where a
//! missing tool is a failure: `.ci/run` installs them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn found(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `Ok(())` when the tools are there; otherwise skips (or, under CI, fails) with the reason.
fn require(tools: &[(&str, &str)]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(program, arg)| !found(program, arg))
        .map(|(program, _)| *program)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let reason = format!("{} not found", missing.join(", "));
    assert!(
        std::env::var_os("CI").is_none(),
        "{reason}: CI must run every suite (.ci/run installs them)"
    );
    eprintln!("SKIPPED: {reason}; install Node 20+ and Debian's chromium to run this suite");
    false
}

/// `npm ci` then `node --test` in `dir`, with the freshly built binary.
fn run_node_suite(dir: &Path) {
    let npm = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status()
        .expect("npm runs");
    assert!(npm.success(), "npm ci failed in {}", dir.display());
    let out = Command::new("node")
        .args(["--test", "--test-concurrency=1"])
        .current_dir(dir)
        .env("TESSERA_BIN", env!("CARGO_BIN_EXE_tessera"))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The TAP summary, so that the run's log shows what ran.
    for line in stdout.lines().filter(|l| {
        l.starts_with("ok ")
            || l.starts_with("not ok ")
            || l.starts_with("# pass")
            || l.starts_with("# fail")
    }) {
        println!("{line}");
    }
    assert!(
        out.status.success(),
        "node --test failed in {}:\n{stdout}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_hanko_sdk_works_unchanged_against_tessera() {
    if require(&[("node", "--version"), ("npm", "--version")]) {
        run_node_suite(&root().join("tests/sdk"));
    }
}

#[test]
fn real_browsers_run_every_ceremony_against_tessera() {
    let chromium = std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if require(&[
        ("node", "--version"),
        ("npm", "--version"),
        (chromium.as_str(), "--version"),
    ]) {
        run_node_suite(&root().join("tests/browser"));
    }
}
