//! Tessera as real processes: two replicas (separate processes, one database, one server secret) that finish each
//! other's ceremonies, refuse each other's replays and see each other's key rotations within the cache lifetime;
//! and a graceful shutdown on SIGTERM under load that loses and half-writes nothing. With
//! `TESSERA_TEST_DATABASE_URL` set (as in CI) the database is a fresh PostgreSQL database, else a SQLite file.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::authenticator::TestAuthenticator;
use common::{ADMIN_KEY, LOCAL_ORIGIN, fresh_database, tenant_body};
use serde_json::{Value, json};

const SECRET: &str = "4242424242424242424242424242424242424242424242424242424242424242";
const CACHE_TTL_SECS: u64 = 2;

/// A `tessera serve` process.
struct Replica {
    child: Child,
    public: String,
    admin: String,
}

impl Replica {
    fn start(database_url: &str) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TESSERA_DATABASE_URL", database_url)
            .env("TESSERA_SECRET_KEY", SECRET)
            .env("TESSERA_ADMIN_API_KEY", ADMIN_KEY)
            .env("TESSERA_PUBLIC_ADDR", "127.0.0.1:0")
            .env("TESSERA_ADMIN_ADDR", "127.0.0.1:0")
            .env("TESSERA_LOG_FORMAT", "json")
            .env("TESSERA_RATE_LIMIT", "off")
            .env("TESSERA_CACHE_TTL_SECS", CACHE_TTL_SECS.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tessera starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let ready = loop {
            let line = lines
                .next()
                .expect("tessera logs until it is ready")
                .expect("log line");
            if let Ok(entry) = serde_json::from_str::<Value>(&line)
                && entry["message"] == "tessera is ready"
            {
                break entry;
            }
        };
        // Keep draining the log so that the process never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Replica {
            child,
            public: format!("http://{}", ready["public"].as_str().expect("public")),
            admin: format!("http://{}", ready["admin"].as_str().expect("admin")),
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        self.child.wait().expect("wait")
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut req = client.post(url).json(body);
    if let Some(k) = key {
        req = req.header("apiKey", k);
    }
    req.send().await.expect("request")
}

async fn create_tenant(client: &reqwest::Client, replica: &Replica) -> (String, String) {
    let mut body = tenant_body("Replicas", "localhost", true);
    body["config"]["webauthn"]["relying_party"]["origins"] = json!([LOCAL_ORIGIN]);
    let resp = client
        .post(format!("{}/tenants", replica.admin))
        .bearer_auth(ADMIN_KEY)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.expect("json");
    (
        created["id"].as_str().expect("id").to_string(),
        created["api_key"]["secret"]
            .as_str()
            .expect("key")
            .to_string(),
    )
}

async fn kids(client: &reqwest::Client, replica: &Replica, tenant: &str) -> Vec<String> {
    let jwks: Value = client
        .get(format!("{}/{tenant}/.well-known/jwks.json", replica.public))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_string())
        .collect()
}

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().expect("header");
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .expect("base64url"),
    )
    .expect("json");
    header["kid"].as_str().expect("kid").to_string()
}

#[tokio::test]
async fn two_processes_on_one_database_share_ceremonies_replays_and_key_rotations() {
    let (url, _dir) = fresh_database().await;
    let a = Replica::start(&url);
    let b = Replica::start(&url);
    let client = reqwest::Client::new();
    let (tenant, key) = create_tenant(&client, &a).await;
    let mut auth = TestAuthenticator::new();

    // Registration begun on A, finished on B.
    let options: Value = post(
        &client,
        &format!("{}/{tenant}/registration/initialize", a.public),
        Some(&key),
        &json!({"user_id": "u", "username": "u"}),
    )
    .await
    .json()
    .await
    .expect("json");
    let credential = auth.create(&options["publicKey"], LOCAL_ORIGIN);
    let done = post(
        &client,
        &format!("{}/{tenant}/registration/finalize", b.public),
        None,
        &credential,
    )
    .await;
    assert_eq!(
        done.status(),
        200,
        "{}",
        done.text().await.unwrap_or_default()
    );

    // Login begun on B, finished on A; the same assertion replayed on B is refused.
    let login = |replica: &Replica| format!("{}/{tenant}/login/initialize", replica.public);
    let options: Value = post(&client, &login(&b), Some(&key), &json!({"user_id": "u"}))
        .await
        .json()
        .await
        .expect("json");
    let assertion = auth.get(&options["publicKey"], LOCAL_ORIGIN);
    let finalize = |replica: &Replica| format!("{}/{tenant}/login/finalize", replica.public);
    let first = post(&client, &finalize(&a), None, &assertion).await;
    assert_eq!(first.status(), 200);
    let token: Value = first.json().await.expect("json");
    let old_kid = kid_of(token["token"].as_str().expect("token"));
    let replay = post(&client, &finalize(&b), None, &assertion).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(
        replay.json::<Value>().await.expect("json")["code"],
        "challenge_replayed"
    );

    // B has the tenant's keys cached; a rotation on A is seen by B within the cache lifetime.
    assert_eq!(kids(&client, &b, &tenant).await, vec![old_kid.clone()]);
    let rotated = client
        .post(format!("{}/tenants/{tenant}/signing_keys", a.admin))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .expect("request");
    assert!(rotated.status().is_success(), "{}", rotated.status());
    let rotated_at = Instant::now();
    let on_a = kids(&client, &a, &tenant).await;
    assert_eq!(
        on_a.len(),
        2,
        "A publishes the new key at once, and the old one still"
    );
    let new_kid = on_a
        .iter()
        .find(|k| **k != old_kid)
        .expect("new kid")
        .clone();
    loop {
        if kids(&client, &b, &tenant).await.contains(&new_kid) {
            break;
        }
        assert!(
            rotated_at.elapsed()
                < Duration::from_secs(CACHE_TTL_SECS) + Duration::from_millis(1500),
            "B did not see the rotation within the cache lifetime"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And B signs with the new key.
    let options: Value = post(&client, &login(&b), Some(&key), &json!({"user_id": "u"}))
        .await
        .json()
        .await
        .expect("json");
    let assertion = auth.get(&options["publicKey"], LOCAL_ORIGIN);
    let on_b = post(&client, &finalize(&b), None, &assertion).await;
    assert_eq!(on_b.status(), 200);
    let token: Value = on_b.json().await.expect("json");
    assert_eq!(kid_of(token["token"].as_str().expect("token")), new_kid);
}

#[tokio::test]
async fn sigterm_under_load_finishes_accepted_requests_and_half_writes_nothing() {
    let (url, _dir) = fresh_database().await;
    let mut server = Replica::start(&url);
    let client = reqwest::Client::new();
    let (tenant, key) = create_tenant(&client, &server).await;
    let completed = Arc::new(AtomicU64::new(0));
    let server_errors = Arc::new(AtomicU64::new(0));
    let started = Arc::new(AtomicU64::new(0));

    // Eight clients register users as fast as they can until the server stops answering.
    let mut workers = Vec::new();
    for w in 0..8 {
        let (client, public, tenant, key) = (
            client.clone(),
            server.public.clone(),
            tenant.clone(),
            key.clone(),
        );
        let (completed, server_errors, started) =
            (completed.clone(), server_errors.clone(), started.clone());
        workers.push(tokio::spawn(async move {
            let mut auth = TestAuthenticator::new();
            for i in 0.. {
                let user = format!("w{w}-{i}");
                let init = client
                    .post(format!("{public}/{tenant}/registration/initialize"))
                    .header("apiKey", &key)
                    .json(&json!({"user_id": user, "username": user}))
                    .send()
                    .await;
                let Ok(init) = init else { break };
                if init.status() != 200 {
                    server_errors.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                let Ok(options) = init.json::<Value>().await else {
                    break;
                };
                let credential = auth.create(&options["publicKey"], LOCAL_ORIGIN);
                started.fetch_add(1, Ordering::SeqCst);
                match client
                    .post(format!("{public}/{tenant}/registration/finalize"))
                    .json(&credential)
                    .send()
                    .await
                {
                    // The request was never accepted, or its connection closed before it was read.
                    Err(_) => break,
                    Ok(r) if r.status() == 200 => {
                        completed.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {
                        server_errors.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
            }
        }));
    }
    // Let the load run, then stop the server in the middle of it.
    while completed.load(Ordering::SeqCst) < 40 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        (status, server)
    })
    .await
    .expect("join");
    for w in workers {
        w.await.expect("worker");
    }
    assert!(status.0.success(), "graceful exit: {}", status.0);
    drop(status.1);
    assert_eq!(
        server_errors.load(Ordering::SeqCst),
        0,
        "no request failed half-way"
    );

    // On a new process: exactly the completed registrations are stored, each user with its one credential.
    let after = Replica::start(&url);
    let users = client
        .get(format!("{}/tenants/{tenant}/users?per_page=1", after.admin))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .expect("request");
    let total: u64 = users.headers()["x-total-count"]
        .to_str()
        .expect("count")
        .parse()
        .expect("number");
    let credentials = client
        .get(format!("{}/{tenant}/credentials?per_page=1", after.public))
        .header("apiKey", &key)
        .send()
        .await
        .expect("request");
    let stored: u64 = credentials.headers()["x-total-count"]
        .to_str()
        .expect("count")
        .parse()
        .expect("number");
    let completed = completed.load(Ordering::SeqCst);
    assert_eq!(
        stored, completed,
        "every answered registration is stored, and nothing else"
    );
    assert_eq!(total, completed, "no user without their credential");
    assert!(started.load(Ordering::SeqCst) >= completed);
}
