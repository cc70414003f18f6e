//! `tessera bench`: drives a running Tessera over HTTP with many virtual authenticators and reports ceremonies per
//! second, latency percentiles per step, errors by status and code, and the server's CPU time per ceremony.
//!
//! It creates its own tenant through the admin API, registers `users` passkeys, then runs login ceremonies
//! (initialize + finalize; half discoverable, half user-bound) at the given concurrency for the given duration.
//! It only targets loopback addresses unless `--allow-remote` is given, and it stops by itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use ciborium::Value as Cbor;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::webauthn::{b64, sha256};

/// The origin and RP id of the benchmark tenant.
const ORIGIN: &str = "http://localhost:8000";

/// Options of a benchmark run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Public listener base URL.
    pub public_url: String,
    /// Admin listener base URL.
    pub admin_url: String,
    /// The admin key.
    pub admin_key: String,
    /// Credential algorithm: `es256` or `eddsa`.
    pub algorithm: String,
    /// Users (each with one passkey) to register first.
    pub users: usize,
    /// Concurrent ceremonies.
    pub concurrency: usize,
    /// How long to run login ceremonies.
    pub duration: Duration,
    /// The server's process id, to read its CPU time.
    pub server_pid: Option<u32>,
    /// Allow targets that are not loopback addresses.
    pub allow_remote: bool,
    /// Print a progress line every second.
    pub progress: bool,
}

enum Key {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A virtual authenticator holding one passkey.
struct Passkey {
    id: Vec<u8>,
    user_id: String,
    key: Key,
    counter: u32,
}

impl Passkey {
    fn new(algorithm: &str, user_id: String) -> anyhow::Result<Self> {
        let key = match algorithm {
            "es256" => Key::Ec(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
                    .map_err(|_| anyhow::anyhow!("key generation"))?,
            ),
            "eddsa" => {
                Key::Ed(Ed25519KeyPair::generate().map_err(|_| anyhow::anyhow!("key generation"))?)
            }
            other => bail!("unsupported algorithm {other:?} (es256 or eddsa)"),
        };
        let id: [u8; 16] = crate::service::crypto::random_bytes();
        Ok(Passkey {
            id: id.to_vec(),
            user_id,
            key,
            counter: 0,
        })
    }

    fn cose(&self) -> Cbor {
        let i = |n: i64| Cbor::Integer(n.into());
        match &self.key {
            Key::Ec(k) => {
                let p = k.public_key().as_ref();
                Cbor::Map(vec![
                    (i(1), i(2)),
                    (i(3), i(-7)),
                    (i(-1), i(1)),
                    (i(-2), Cbor::Bytes(p[1..33].to_vec())),
                    (i(-3), Cbor::Bytes(p[33..65].to_vec())),
                ])
            }
            Key::Ed(k) => Cbor::Map(vec![
                (i(1), i(1)),
                (i(3), i(-8)),
                (i(-1), i(6)),
                (i(-2), Cbor::Bytes(k.public_key().as_ref().to_vec())),
            ]),
        }
    }

    fn sign(&self, msg: &[u8]) -> anyhow::Result<Vec<u8>> {
        Ok(match &self.key {
            Key::Ec(k) => k
                .sign(&SystemRandom::new(), msg)
                .map_err(|_| anyhow::anyhow!("signing"))?
                .as_ref()
                .to_vec(),
            Key::Ed(k) => k.sign(msg).as_ref().to_vec(),
        })
    }

    fn client_data(kind: &str, options: &Value) -> Vec<u8> {
        json!({"type": kind, "challenge": options["challenge"], "origin": ORIGIN})
            .to_string()
            .into_bytes()
    }

    fn create(&self, options: &Value) -> anyhow::Result<Value> {
        let client_data = Self::client_data("webauthn.create", options);
        let mut auth_data = sha256(b"localhost").to_vec();
        auth_data.push(0x45);
        auth_data.extend_from_slice(&[0; 4 + 16]);
        auth_data.extend_from_slice(&u16::try_from(self.id.len())?.to_be_bytes());
        auth_data.extend_from_slice(&self.id);
        ciborium::into_writer(&self.cose(), &mut auth_data)?;
        let t = |s: &str| Cbor::Text(s.into());
        let mut object = Vec::new();
        ciborium::into_writer(
            &Cbor::Map(vec![
                (t("fmt"), t("none")),
                (t("attStmt"), Cbor::Map(vec![])),
                (t("authData"), Cbor::Bytes(auth_data)),
            ]),
            &mut object,
        )?;
        Ok(json!({
            "id": b64::encode(&self.id), "rawId": b64::encode(&self.id), "type": "public-key",
            "response": {"clientDataJSON": b64::encode(&client_data), "attestationObject": b64::encode(&object)},
        }))
    }

    fn get(&mut self, options: &Value) -> anyhow::Result<Value> {
        self.counter += 1;
        let client_data = Self::client_data("webauthn.get", options);
        let mut auth_data = sha256(b"localhost").to_vec();
        auth_data.push(0x05);
        auth_data.extend_from_slice(&self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&sha256(&client_data));
        let signature = self.sign(&signed)?;
        Ok(json!({
            "id": b64::encode(&self.id), "rawId": b64::encode(&self.id), "type": "public-key",
            "response": {
                "clientDataJSON": b64::encode(&client_data),
                "authenticatorData": b64::encode(&auth_data),
                "signature": b64::encode(&signature),
                "userHandle": b64::encode(self.user_id.as_bytes()),
            },
        }))
    }
}

/// Refuses non-loopback targets unless allowed.
fn check_target(url: &str, allow_remote: bool) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback && !allow_remote {
        bail!("{url} is not a loopback address; pass --allow-remote to benchmark another host");
    }
    Ok(())
}

/// Latencies of one step, in microseconds.
#[derive(Default)]
struct Samples(Vec<u64>);

impl Samples {
    fn summary(&mut self) -> Value {
        self.0.sort_unstable();
        let pick = |q: f64| -> u64 {
            if self.0.is_empty() {
                return 0;
            }
            let idx = ((self.0.len() as f64 - 1.0) * q).round() as usize;
            self.0[idx.min(self.0.len() - 1)]
        };
        json!({"count": self.0.len(), "p50_us": pick(0.5), "p90_us": pick(0.9), "p99_us": pick(0.99), "max_us": self.0.last().copied().unwrap_or(0)})
    }
}

#[derive(Default)]
struct Results {
    init: Samples,
    finalize: Samples,
    errors: BTreeMap<String, u64>,
}

/// CPU time (user + system) of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    crate::metrics::proc_stat(&pid.to_string()).map(|s| s.cpu_ticks)
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    api_key: Option<&str>,
    body: &Value,
) -> Result<Value, String> {
    let mut req = client.post(url).json(body);
    if let Some(k) = api_key {
        req = req.header("apiKey", k);
    }
    let resp = req.send().await.map_err(|e| format!("transport: {e}"))?;
    let status = resp.status().as_u16();
    let body: Value = resp
        .json()
        .await
        .map_err(|e| format!("{status} unreadable body: {e}"))?;
    if status >= 300 {
        return Err(format!(
            "{status} {}",
            body["code"].as_str().unwrap_or("unknown")
        ));
    }
    Ok(body)
}

/// Runs the benchmark and returns the report as JSON.
pub async fn run(opts: BenchOptions) -> anyhow::Result<Value> {
    check_target(&opts.public_url, opts.allow_remote)?;
    check_target(&opts.admin_url, opts.allow_remote)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.concurrency.max(1))
        .build()?;

    let tenant: Value = client
        .post(format!("{}/tenants", opts.admin_url))
        .bearer_auth(&opts.admin_key)
        .json(&json!({
            "display_name": "tessera bench",
            "create_api_key": true,
            "config": {
                "cors": {"allowed_origins": [ORIGIN]},
                "webauthn": {"relying_party": {"id": "localhost", "display_name": "bench", "origins": [ORIGIN]},
                             "timeout": 60000, "user_verification": "preferred", "attestation_preference": "none"}
            }
        }))
        .send()
        .await
        .context("creating the benchmark tenant")?
        .error_for_status()
        .context("creating the benchmark tenant (is the admin key right?)")?
        .json()
        .await?;
    let tenant_id = tenant["id"].as_str().context("tenant id")?.to_string();
    let api_key = tenant["api_key"]["secret"]
        .as_str()
        .context("api key")?
        .to_string();
    let base = format!("{}/{tenant_id}", opts.public_url);

    // Registration.
    let started = Instant::now();
    let mut passkeys = Vec::with_capacity(opts.users);
    for i in 0..opts.users {
        let user_id = format!("bench-user-{i}");
        let passkey = Passkey::new(&opts.algorithm, user_id.clone())?;
        let init = post(
            &client,
            &format!("{base}/credentials/register/initialize"),
            Some(&api_key),
            &json!({"user_id": user_id, "username": user_id}),
        )
        .await
        .map_err(|e| anyhow::anyhow!("registration initialize: {e}"))?;
        let credential = passkey.create(&init["publicKey"])?;
        post(
            &client,
            &format!("{base}/credentials/register/finalize"),
            None,
            &credential,
        )
        .await
        .map_err(|e| anyhow::anyhow!("registration finalize: {e}"))?;
        passkeys.push(Arc::new(Mutex::new(passkey)));
    }
    let registration_secs = started.elapsed().as_secs_f64();

    // Logins.
    let results = Arc::new(Mutex::new(Results::default()));
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let cpu_before = opts.server_pid.and_then(cpu_ticks);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..opts.concurrency.max(1) {
        let (client, base, api_key) = (client.clone(), base.clone(), api_key.clone());
        let (passkeys, results, done, stop) = (
            passkeys.clone(),
            results.clone(),
            done.clone(),
            stop.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = w;
            while !stop.load(Ordering::Relaxed) {
                let passkey = &passkeys[n % passkeys.len()];
                let bound = n % 2 == 1;
                n += opts.concurrency.max(1);
                let mut pk = passkey.lock().await;
                let body = if bound {
                    json!({"user_id": pk.user_id})
                } else {
                    json!({})
                };
                let t0 = Instant::now();
                let outcome = async {
                    let init = post(
                        &client,
                        &format!("{base}/credentials/login/initialize"),
                        Some(&api_key),
                        &body,
                    )
                    .await?;
                    let t1 = Instant::now();
                    let assertion = pk.get(&init["publicKey"]).map_err(|e| e.to_string())?;
                    post(
                        &client,
                        &format!("{base}/credentials/login/finalize"),
                        None,
                        &assertion,
                    )
                    .await?;
                    Ok::<_, String>((t1 - t0, t1.elapsed()))
                }
                .await;
                let mut r = results.lock().await;
                match outcome {
                    Ok((init, fin)) => {
                        r.init
                            .0
                            .push(u64::try_from(init.as_micros()).unwrap_or(u64::MAX));
                        r.finalize
                            .0
                            .push(u64::try_from(fin.as_micros()).unwrap_or(u64::MAX));
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => *r.errors.entry(e).or_default() += 1,
                }
            }
        }));
    }
    let mut last = 0;
    while started.elapsed() < opts.duration {
        tokio::time::sleep(
            Duration::from_secs(1).min(opts.duration.saturating_sub(started.elapsed())),
        )
        .await;
        if opts.progress {
            let now = done.load(Ordering::Relaxed);
            eprint!(
                "\r{:>5.1}s  {:>8} logins  {:>7} /s   ",
                started.elapsed().as_secs_f64(),
                now,
                now - last
            );
            last = now;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await?;
    }
    if opts.progress {
        eprintln!();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = opts.server_pid.and_then(cpu_ticks);
    let logins = done.load(Ordering::Relaxed);
    let mut r = results.lock().await;
    let cpu_us_per_login = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) if logins > 0 => {
            // /proc reports clock ticks, 100 per second on Linux.
            Some(((b - a) as f64 * 10_000.0) / logins as f64)
        }
        _ => None,
    };
    let errors: u64 = r.errors.values().sum();
    Ok(json!({
        "tenant_id": tenant_id,
        "algorithm": opts.algorithm,
        "users": opts.users,
        "registrations_per_sec": opts.users as f64 / registration_secs.max(1e-9),
        "concurrency": opts.concurrency,
        "duration_secs": elapsed,
        "logins": logins,
        "logins_per_sec": logins as f64 / elapsed.max(1e-9),
        "login_initialize": r.init.summary(),
        "login_finalize": r.finalize.summary(),
        "errors": r.errors,
        "error_count": errors,
        "server_cpu_us_per_login": cpu_us_per_login,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_allowed_by_default() {
        assert!(check_target("http://127.0.0.1:8000", false).is_ok());
        assert!(check_target("http://localhost:8000", false).is_ok());
        assert!(check_target("http://[::1]:8000", false).is_ok());
        assert!(check_target("http://10.0.0.1:8000", false).is_err());
        assert!(check_target("https://example.com", false).is_err());
        assert!(check_target("https://example.com", true).is_ok());
    }

    #[test]
    fn percentiles_pick_the_right_samples() {
        let mut s = Samples((1..=100).rev().collect());
        let v = s.summary();
        assert_eq!(v["p50_us"], 51);
        assert_eq!(v["p99_us"], 99);
        assert_eq!(v["max_us"], 100);
    }
}
