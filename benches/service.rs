//! Service hot-path costs: token signing per algorithm, challenge seal and open, and API-key lookup (cached),
//! on an in-memory SQLite database. Run with `cargo bench --bench service`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tessera::clock::Clock;
use tessera::config::SecretKey;
use tessera::model::{TenantConfig, TokenAlgorithm, UserVerification};
use tessera::service::ceremony::{CeremonyKind, CeremonyState, policy_digest};
use tessera::service::tokens::Claims;
use tessera::service::{RequestMeta, Tessera};

fn bench(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Runtime::new() else {
        return;
    };
    let setup = rt.block_on(async {
        let db = tessera::repo::connect("sqlite::memory:", 1).await.ok()?;
        tessera::repo::migrate_up(&db).await.ok()?;
        let t = Tessera::new(db, &SecretKey::from_bytes([7; 32]), Clock::System);
        let mut tenants = Vec::new();
        for alg in [
            TokenAlgorithm::ES256,
            TokenAlgorithm::EdDSA,
            TokenAlgorithm::RS256,
        ] {
            let mut config =
                TenantConfig::new("localhost", "Bench", vec!["http://localhost:8000".into()]);
            config.token_algorithm = alg;
            let created = t
                .create_tenant("bench", config, true, &RequestMeta::default())
                .await
                .ok()?;
            tenants.push((alg, created.tenant.id, created.api_key?.1));
        }
        Some((t, tenants))
    });
    let Some((t, tenants)) = setup else { return };

    for (alg, tenant, _) in &tenants {
        let claims = Claims {
            sub: "user-1".into(),
            aud: vec!["localhost".into()],
            iss: t.issuer(*tenant),
            iat: 1_800_000_000,
            exp: 1_800_000_300,
            jti: "4f1c3d2e-0000-4000-8000-000000000000".into(),
            cred: "Y3JlZGVudGlhbC1pZA".into(),
            tid: tenant.to_string(),
            amr: vec!["pop".into(), "mfa".into()],
            uv: true,
            trans: None,
            trans_hash: None,
            acr: Some("passkey".into()),
        };
        c.bench_function(&format!("token/sign/{}", alg.as_str()), |b| {
            b.iter(|| rt.block_on(t.sign_token(*tenant, black_box(&claims))))
        });
    }

    let (_, tenant, key) = &tenants[0];
    let config = TenantConfig::new("localhost", "Bench", vec!["http://localhost:8000".into()]);
    let state = CeremonyState {
        kind: CeremonyKind::Login,
        user_id: Some("user-1".into()),
        username: None,
        display_name: None,
        icon: None,
        transaction: None,
        expires_at: i64::MAX,
        user_verification: UserVerification::Preferred,
        policy: policy_digest(&config),
    };
    c.bench_function("challenge/seal", |b| {
        b.iter(|| t.seal_challenge(*tenant, black_box(&state), &[]))
    });
    let sealed = t.seal_challenge(*tenant, &state, &[]);
    c.bench_function("challenge/open", |b| {
        b.iter(|| {
            t.open_challenge(
                *tenant,
                black_box(&sealed),
                0,
                &[CeremonyKind::Login],
                &config,
            )
        })
    });
    c.bench_function("api_key/authenticate (cached)", |b| {
        b.iter(|| rt.block_on(t.authenticate_api_key(*tenant, black_box(key))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
