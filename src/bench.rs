//! `tessera bench`: drives a running Tessera over HTTP with many virtual authenticators and reports ceremonies per
//! second per kind, latency percentiles per step, errors by status and code, and the server's CPU time per ceremony
//! (from `/proc` with a process id, else from the server's `/metrics`).
//!
//! It creates its own tenant through the admin API (or takes one with its API key), registers `users` passkeys at
//! the given concurrency, then runs login ceremonies (initialize + finalize; half discoverable, half user-bound;
//! optionally every other round a transaction signing) at the given concurrency for the given duration, flat out or
//! paced to a rate. It only targets loopback addresses unless `--allow-remote` is given, and it stops by itself.

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

/// The origin of the benchmark tenant (its RP id is `localhost`).
pub const ORIGIN: &str = "http://localhost:8000";

/// Options of a benchmark run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Public listener base URL.
    pub public_url: String,
    /// Admin listener base URL.
    pub admin_url: String,
    /// The admin key.
    pub admin_key: String,
    /// Credential algorithm: `es256`, `eddsa` or `rs256`.
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
    /// An existing tenant and its API key (for example one filled by `tessera seed`); by default the bench
    /// creates a tenant.
    pub tenant: Option<(String, String)>,
    /// Alternate login and transaction-signing ceremonies.
    pub transactions: bool,
    /// Ceremonies per second to offer in total (paced evenly over the workers); `None` runs flat out.
    pub rate: Option<f64>,
}

enum Key {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(aws_lc_rs::rsa::KeyPair),
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
            "rs256" => Key::Rsa(
                aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| anyhow::anyhow!("key generation"))?,
            ),
            other => bail!("unsupported algorithm {other:?} (es256, eddsa or rs256)"),
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
            Key::Rsa(k) => {
                let public = k.public_key();
                let n = public.modulus().big_endian_without_leading_zero().to_vec();
                let e = public.exponent().big_endian_without_leading_zero().to_vec();
                Cbor::Map(vec![
                    (i(1), i(3)),
                    (i(3), i(-257)),
                    (i(-1), Cbor::Bytes(n)),
                    (i(-2), Cbor::Bytes(e)),
                ])
            }
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
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    msg,
                    &mut sig,
                )
                .map_err(|_| anyhow::anyhow!("signing"))?;
                sig
            }
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

/// Latencies of one ceremony kind.
#[derive(Default)]
struct Steps {
    init: Samples,
    finalize: Samples,
}

#[derive(Default)]
struct Results {
    login: Steps,
    transaction: Steps,
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

    let (tenant_id, api_key) = match &opts.tenant {
        Some((id, key)) => (id.clone(), key.clone()),
        None => create_tenant(&client, &opts).await?,
    };
    let base = format!("{}/{tenant_id}", opts.public_url);

    // Registration, at the same concurrency as the logins.
    let registration_cpu_before = server_cpu_secs(&client, &opts).await;
    let run_id = b64::encode(&crate::service::crypto::random_bytes::<6>());
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut registrars = Vec::new();
    for _ in 0..opts.concurrency.max(1) {
        let (client, base, api_key, next, run_id) = (
            client.clone(),
            base.clone(),
            api_key.clone(),
            next.clone(),
            run_id.clone(),
        );
        let (algorithm, users) = (opts.algorithm.clone(), opts.users as u64);
        registrars.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= users {
                    return Ok::<_, anyhow::Error>(made);
                }
                let user_id = format!("bench-{run_id}-{i}");
                let passkey = Passkey::new(&algorithm, user_id.clone())?;
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
                made.push(Arc::new(Mutex::new(passkey)));
            }
        }));
    }
    let mut passkeys = Vec::with_capacity(opts.users);
    for r in registrars {
        passkeys.extend(r.await??);
    }
    let registration_secs = started.elapsed().as_secs_f64();
    let registration_cpu_us = per_ceremony_us(
        registration_cpu_before,
        server_cpu_secs(&client, &opts).await,
        opts.users as u64,
    );

    // Logins (and transactions).
    let results = Arc::new(Mutex::new(Results::default()));
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let cpu_before = server_cpu_secs(&client, &opts).await;
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
        let (concurrency, transactions) = (opts.concurrency.max(1), opts.transactions);
        // With a target rate, worker `w` starts its k-th ceremony at `(k * concurrency + w) / rate` seconds.
        let pace = opts
            .rate
            .filter(|r| *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r));
        workers.push(tokio::spawn(async move {
            let mut n = w;
            while !stop.load(Ordering::Relaxed) {
                if let Some(gap) = pace {
                    let due = started + gap.mul_f64(n as f64);
                    tokio::time::sleep_until(due.into()).await;
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
                let passkey = &passkeys[n % passkeys.len()];
                let round = n / concurrency;
                let transaction = transactions && round % 2 == 1;
                let bound = n % 2 == 1;
                n += concurrency;
                let mut pk = passkey.lock().await;
                let (init_path, finalize_path, body, finalize_key) = if transaction {
                    let id = format!("t-{}-{n}", b64::encode(&crate::service::crypto::random_bytes::<6>()));
                    (
                        "transaction/initialize",
                        "transaction/finalize",
                        json!({"user_id": pk.user_id, "transaction_id": id,
                               "transaction_data": {"amount": "10.00", "currency": "EUR", "payee": "bench"}}),
                        Some(api_key.as_str()),
                    )
                } else if bound {
                    (
                        "credentials/login/initialize",
                        "credentials/login/finalize",
                        json!({"user_id": pk.user_id}),
                        None,
                    )
                } else {
                    (
                        "credentials/login/initialize",
                        "credentials/login/finalize",
                        json!({}),
                        None,
                    )
                };
                let t0 = Instant::now();
                let outcome = async {
                    let init = post(
                        &client,
                        &format!("{base}/{init_path}"),
                        Some(&api_key),
                        &body,
                    )
                    .await?;
                    let t1 = Instant::now();
                    let assertion = pk.get(&init["publicKey"]).map_err(|e| e.to_string())?;
                    post(
                        &client,
                        &format!("{base}/{finalize_path}"),
                        finalize_key,
                        &assertion,
                    )
                    .await?;
                    Ok::<_, String>((t1 - t0, t1.elapsed()))
                }
                .await;
                let mut r = results.lock().await;
                match outcome {
                    Ok((init, fin)) => {
                        let steps = if transaction {
                            &mut r.transaction
                        } else {
                            &mut r.login
                        };
                        steps
                            .init
                            .0
                            .push(u64::try_from(init.as_micros()).unwrap_or(u64::MAX));
                        steps
                            .finalize
                            .0
                            .push(u64::try_from(fin.as_micros()).unwrap_or(u64::MAX));
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        let kind = if transaction { "transaction" } else { "login" };
                        *r.errors.entry(format!("{kind}: {e}")).or_default() += 1;
                    }
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
                "\r{:>5.1}s  {:>8} ceremonies  {:>7} /s   ",
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
    let cpu_after = server_cpu_secs(&client, &opts).await;
    let mut r = results.lock().await;
    let logins = r.login.finalize.0.len() as u64;
    let transactions = r.transaction.finalize.0.len() as u64;
    let ceremonies = logins + transactions;
    let cpu_us_per_ceremony = per_ceremony_us(cpu_before, cpu_after, ceremonies);
    let errors: u64 = r.errors.values().sum();
    let mut report = json!({
        "tenant_id": tenant_id,
        "algorithm": opts.algorithm,
        "users": opts.users,
        "registrations_per_sec": opts.users as f64 / registration_secs.max(1e-9),
        "server_cpu_us_per_registration": registration_cpu_us,
        "concurrency": opts.concurrency,
        "target_rate": opts.rate,
        "duration_secs": elapsed,
        "logins": logins,
        "logins_per_sec": logins as f64 / elapsed.max(1e-9),
        "login_initialize": r.login.init.summary(),
        "login_finalize": r.login.finalize.summary(),
        "errors": r.errors,
        "error_count": errors,
        "server_cpu_source": if opts.server_pid.is_some() { "pid" } else { "metrics" },
        "server_cpu_us_per_ceremony": cpu_us_per_ceremony,
    });
    if opts.transactions {
        report["transactions"] = json!(transactions);
        report["transactions_per_sec"] = json!(transactions as f64 / elapsed.max(1e-9));
        report["transaction_initialize"] = r.transaction.init.summary();
        report["transaction_finalize"] = r.transaction.finalize.summary();
    }
    Ok(report)
}

/// Creates the benchmark tenant through the admin API; returns its id and API key.
async fn create_tenant(
    client: &reqwest::Client,
    opts: &BenchOptions,
) -> anyhow::Result<(String, String)> {
    let tenant: Value = client
        .post(format!("{}/tenants", opts.admin_url))
        .bearer_auth(&opts.admin_key)
        .json(&json!({
            "display_name": "tessera bench",
            "create_api_key": true,
            "config": {
                "cors": {"allowed_origins": [ORIGIN]},
                "webauthn": {"relying_party": {"id": "localhost", "display_name": "bench", "origins": [ORIGIN]},
                             "timeout": 60000, "user_verification": "preferred", "attestation_preference": "none"},
                "policy": {"transaction_user_verification": "preferred"}
            }
        }))
        .send()
        .await
        .context("creating the benchmark tenant")?
        .error_for_status()
        .context("creating the benchmark tenant (is the admin key right?)")?
        .json()
        .await?;
    let id = tenant["id"].as_str().context("tenant id")?.to_string();
    let key = tenant["api_key"]["secret"]
        .as_str()
        .context("api key")?
        .to_string();
    Ok((id, key))
}

/// Server CPU microseconds per ceremony between two readings of its CPU seconds.
fn per_ceremony_us(before: Option<f64>, after: Option<f64>, ceremonies: u64) -> Option<f64> {
    match (before, after) {
        (Some(a), Some(b)) if ceremonies > 0 => Some((b - a) * 1e6 / ceremonies as f64),
        _ => None,
    }
}

/// The server's CPU time in seconds: from `/proc` with `--server-pid`, else from its `/metrics`.
async fn server_cpu_secs(client: &reqwest::Client, opts: &BenchOptions) -> Option<f64> {
    if let Some(pid) = opts.server_pid {
        return cpu_ticks(pid).map(|t| t as f64 / 100.0);
    }
    let text = client
        .get(format!("{}/metrics", opts.admin_url))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("process_cpu_seconds_total "))
        .and_then(|v| v.trim().parse().ok())
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
