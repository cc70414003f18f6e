//! The `tessera` command line, run as a real process: migrations, tenants, API keys, configuration dump, the
//! development first run and shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

const SECRET: &str = "0101010101010101010101010101010101010101010101010101010101010101";

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Cli {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
        cmd.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TESSERA_SECRET_KEY", SECRET)
            .env("TESSERA_LOG_LEVEL", "warn");
        cmd
    }

    /// Runs a command that must succeed; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().expect("run tessera");
        assert!(
            out.status.success(),
            "tessera {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(self.ok(&all).trim()).expect("json output")
    }
}

#[test]
fn tenants_and_api_keys_are_managed_from_the_command_line() {
    let cli = Cli::new();
    cli.ok(&["migrate", "up"]);
    let status = cli.json(&["migrate", "status"]);
    assert_eq!(status[0]["applied"], true);

    let created = cli.json(&[
        "tenant",
        "create",
        "--name",
        "Shop",
        "--rp-id",
        "shop.example",
        "--origin",
        "https://shop.example",
    ]);
    let id = created["id"].as_str().expect("id").to_string();
    assert!(
        created["api_key"]
            .as_str()
            .expect("key")
            .starts_with("tsk_")
    );

    let list = cli.json(&["tenant", "list"]);
    assert_eq!(list[0]["id"], id.as_str());
    let shown = cli.json(&["tenant", "show", &id]);
    assert_eq!(shown["config"]["rp_id"], "shop.example");

    let key = cli.json(&["api-key", "create", "--tenant", &id, "--name", "ci"]);
    let key_id = key["id"].as_str().expect("id").to_string();
    let keys = cli.json(&["api-key", "list", "--tenant", &id]);
    assert_eq!(keys.as_array().expect("array").len(), 2);
    assert!(
        !keys
            .to_string()
            .contains(key["secret"].as_str().expect("secret"))
    );
    cli.json(&["api-key", "revoke", "--tenant", &id, "--id", &key_id]);
    let keys = cli.json(&["api-key", "list", "--tenant", &id]);
    assert!(
        keys.as_array()
            .expect("array")
            .iter()
            .any(|k| k["id"] == key_id.as_str() && k["revoked"] == true)
    );

    cli.json(&["tenant", "delete", &id]);
    assert_eq!(cli.json(&["tenant", "list"]), serde_json::json!([]));

    let out = cli
        .command()
        .args(["tenant", "show", &id])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tenant not found"));

    cli.ok(&["migrate", "down"]);
    assert_eq!(cli.json(&["migrate", "status"])[0]["applied"], false);
}

#[test]
fn invalid_input_is_refused_with_a_clear_message() {
    let cli = Cli::new();
    cli.ok(&["migrate", "up"]);
    let out = cli
        .command()
        .args([
            "tenant",
            "create",
            "--name",
            "X",
            "--rp-id",
            "x.example",
            "--origin",
            "https://evil.example",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the relying party id"));

    let out = cli
        .command()
        .env("TESSERA_PUBLIC_ADDR", "nonsense")
        .env("TESSERA_SECRET_KEY", "short")
        .args(["config", "--dump"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TESSERA_PUBLIC_ADDR") && err.contains("secret_key"),
        "both errors listed: {err}"
    );
}

#[test]
fn the_configuration_dump_redacts_secrets() {
    let cli = Cli::new();
    let out = cli
        .command()
        .env("TESSERA_ADMIN_API_KEY", "super-secret-admin-key")
        .env(
            "TESSERA_DATABASE_URL",
            "postgres://tessera:hunter2@db.internal/tessera",
        )
        .args(["config", "--dump"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("admin_api_key = \"[redacted]\""), "{text}");
    for secret in ["super-secret-admin-key", "hunter2", SECRET] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[test]
fn serve_refuses_to_start_without_a_server_secret() {
    let cli = Cli::new();
    let out = cli
        .command()
        .env_remove("TESSERA_SECRET_KEY")
        .env("TESSERA_PUBLIC_ADDR", "127.0.0.1:0")
        .env("TESSERA_ADMIN_ADDR", "127.0.0.1:0")
        .arg("serve")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TESSERA_SECRET_KEY"));
}

#[test]
fn the_openapi_command_prints_the_committed_documents() {
    let cli = Cli::new();
    let public: Value = serde_json::from_str(&cli.ok(&["openapi", "public"])).expect("json");
    let admin: Value = serde_json::from_str(&cli.ok(&["openapi", "admin"])).expect("json");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
    let committed = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root.join(name)).expect("committed document"))
            .expect("json")
    };
    assert_eq!(public, committed("public.json"));
    assert_eq!(admin, committed("admin.json"));
}

#[cfg(unix)]
#[test]
fn the_first_dev_run_creates_a_working_tenant_and_stops_on_sigterm() {
    let cli = Cli::new();
    let mut child = cli
        .command()
        .env_remove("TESSERA_SECRET_KEY")
        .env("TESSERA_PUBLIC_ADDR", "127.0.0.1:0")
        .env("TESSERA_ADMIN_ADDR", "127.0.0.1:0")
        .args(["--json", "serve", "--dev"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let shown: Value = serde_json::from_str(&line).expect("dev tenant json");
    let admin_url = shown["admin_url"].as_str().expect("admin url").to_string();
    let admin_key = shown["admin_api_key"]
        .as_str()
        .expect("admin key")
        .to_string();
    assert!(
        shown["api_key"]
            .as_str()
            .expect("api key")
            .starts_with("tsk_")
    );

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let tenants: Value = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{admin_url}/tenants"))
            .bearer_auth(&admin_key)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    });
    assert_eq!(tenants[0]["id"], shown["tenant_id"]);
    assert_eq!(tenants[0]["display_name"], "Development");

    // The secret and admin key were kept, private to their owner.
    use std::os::unix::fs::PermissionsExt;
    for file in ["tessera.secret", "tessera.admin-key"] {
        let mode = std::fs::metadata(cli.dir.path().join(file))
            .expect(file)
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} is private");
    }

    // The container health check answers from the same binary.
    let ready_url = format!("{admin_url}/readyz");
    let healthy = cli
        .command()
        .args(["healthcheck", "--url", &ready_url])
        .output()
        .expect("healthcheck");
    assert!(
        healthy.status.success(),
        "{}",
        String::from_utf8_lossy(&healthy.stderr)
    );

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status = child.wait().expect("wait");
    assert!(status.success(), "graceful exit on SIGTERM: {status}");
    let stopped = cli
        .command()
        .args(["healthcheck", "--url", &ready_url])
        .output()
        .expect("healthcheck");
    assert!(!stopped.status.success(), "a stopped server is not healthy");
}
