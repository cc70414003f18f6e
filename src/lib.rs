//! Tessera: a multi-tenant, passkey-only authentication service.
//!
//! # Layers
//!
//! `api -> service -> repo -> entity`, one direction. [`webauthn`] and [`model`] depend on nothing internal.
//!
//! - [`api`]: poem-openapi adapters. A handler checks auth, calls one service method, maps to a DTO.
//! - [`service`]: the rules: ceremonies sealed into their challenges, tokens, transactions, tenants, keys, users,
//!   audit. Tenant first in every call; errors are per-area enums mapped once in `api/error.rs`.
//! - [`repo`]: sea-orm queries; entity models are mapped to [`model`] types there and never leave.
//! - [`webauthn`]: pure WebAuthn relying-party verification from the W3C Level 3 specification; no I/O.
//! - [`model`]: domain types with parse constructors.
//! - [`config`]: defaults < TOML < environment; secrets redacted.
//! - [`clock`]: the one place that reads the wall clock.
//! - [`metrics`]: Prometheus metrics, fed by the request edge and the ceremonies, served on the admin listener.
//! - [`bench`]: `tessera bench`, an HTTP load generator with virtual authenticators (a client, not a layer).
//!
//! # Conventions
//!
//! - Every non-2xx response is `{"title", "details", "status", "code"}` with a stable snake_case `code`.
//! - Another tenant's resource is `404`, never `403`.
//! - API keys are shown once, stored as SHA-256 hashes and compared in constant time; signing keys are encrypted at
//!   rest under a key derived from the server secret. Keys, tokens, challenges and ceremony bodies are never logged.
//! - Logs: `tracing`, one span per request with `request.id`; failures are logged once, at the boundary.

pub mod api;
pub mod bench;
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod metrics;
pub mod model;
pub mod repo;
pub mod server;
pub mod service;
pub mod webauthn;
