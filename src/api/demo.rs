//! The browser module at `/tessera.js` (always served) and, when enabled, the demo page at `/demo`: a small
//! application on the public listener that registers and signs in users of one tenant with passkeys, shows the
//! token's claims and the user's credentials, and renames and deletes them.
//!
//! The demo's own backend (`/demo/api/*`) stands in for an application's server: it starts registrations for
//! the demo tenant (which needs no API key here, since it runs inside Tessera) and acts on credentials only for
//! the user of a valid token of that tenant. Ceremony finalization and logins go straight from the page to the
//! public API, as in any integration.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Json, Path};
use poem::{EndpointExt, Request, Response, Route, handler};
use poem_openapi::types::ToJSON;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::error::ApiError;
use super::passkeys::credential_dto;
use super::request_meta;
use crate::config::Config;
use crate::model::{PageRequest, SortDirection, TenantId};
use crate::service::Tessera;
use crate::service::ceremony::CeremonyKind;
use crate::service::passkeys::NewUser;
use crate::service::tokens::Claims;

/// The dependency-free browser module for applications.
pub const BROWSER_MODULE: &str = include_str!("../../web/tessera.js");
const DEMO_HTML: &str = include_str!("../../web/demo.html");
const DEMO_JS: &str = include_str!("../../web/demo.js");

/// The demo's state: the services and the tenant it serves, decided at the first request.
#[derive(Clone)]
struct Demo {
    tessera: Tessera,
    configured: Option<String>,
    tenant: Arc<OnceCell<TenantId>>,
}

impl Demo {
    /// The demo tenant: the configured one, or the only tenant there is.
    async fn tenant(&self) -> Result<TenantId, ApiError> {
        let unavailable = |details: &str| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "demo_unavailable",
                "the demo has no tenant",
                details.to_string(),
            )
        };
        self.tenant
            .get_or_try_init(|| async {
                match &self.configured {
                    Some(id) => TenantId::parse(id)
                        .ok_or_else(|| unavailable("TESSERA_DEMO_TENANT is not a tenant id")),
                    None => {
                        let tenants = self.tessera.list_tenants().await?;
                        match tenants.as_slice() {
                            [only] => Ok(only.id),
                            _ => Err(unavailable(
                                "there is not exactly one tenant: set TESSERA_DEMO_TENANT",
                            )),
                        }
                    }
                }
            })
            .await
            .copied()
    }

    /// The claims of the request's bearer token, which must be a live token of the demo tenant.
    async fn claims(&self, req: &Request) -> Result<(TenantId, Claims), ApiError> {
        let tenant = self.tenant().await?;
        let token = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(crate::service::Error::InvalidToken)?;
        let claims = self.tessera.verify_token(tenant, token.trim()).await?;
        Ok((tenant, claims))
    }
}

fn javascript(body: &'static str) -> Response {
    Response::builder()
        .content_type("text/javascript; charset=utf-8")
        .header("cache-control", "no-cache")
        .body(body)
}

/// Any page may load the module (it is public code), so it carries an open CORS header.
#[handler]
fn browser_module() -> Response {
    let mut resp = javascript(BROWSER_MODULE);
    resp.headers_mut().insert(
        "access-control-allow-origin",
        poem::http::HeaderValue::from_static("*"),
    );
    resp
}

#[handler]
fn demo_page() -> Response {
    Response::builder()
        .content_type("text/html; charset=utf-8")
        .header("cache-control", "no-cache")
        .header(
            "content-security-policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        )
        .body(DEMO_HTML)
}

#[handler]
fn demo_script() -> Response {
    javascript(DEMO_JS)
}

#[handler]
async fn demo_config(demo: poem::web::Data<&Demo>) -> Result<Json<Value>, ApiError> {
    let tenant = demo.tenant().await?;
    Ok(Json(json!({ "tenant_id": tenant.to_string() })))
}

#[derive(Deserialize)]
struct RegisterBody {
    username: String,
}

/// Starts a registration: for a new user, or, with a token, another passkey for the signed-in user.
#[handler]
async fn demo_register(
    demo: poem::web::Data<&Demo>,
    req: &Request,
    body: Result<Json<RegisterBody>, poem::Error>,
) -> Result<Json<Value>, ApiError> {
    let body = body.map_err(|e| ApiError::invalid(e.to_string()))?;
    let (tenant, user_id) = if req.headers().contains_key("authorization") {
        let (tenant, claims) = demo.claims(req).await?;
        (tenant, claims.sub)
    } else {
        (demo.tenant().await?, uuid::Uuid::new_v4().to_string())
    };
    let username = body.username.trim().to_string();
    let options = demo
        .tessera
        .begin_registration(
            tenant,
            NewUser {
                user_id,
                display_name: Some(username.clone()),
                username,
                icon: None,
            },
            CeremonyKind::Registration,
            &request_meta(req),
        )
        .await?;
    let options = serde_json::to_value(options).map_err(|e| ApiError::internal(&e))?;
    Ok(Json(json!({ "publicKey": options })))
}

/// The signed-in user's token claims and credentials.
#[handler]
async fn demo_me(demo: poem::web::Data<&Demo>, req: &Request) -> Result<Json<Value>, ApiError> {
    let (tenant, claims) = demo.claims(req).await?;
    let (page, _) = demo
        .tessera
        .list_credentials(
            tenant,
            Some(&claims.sub),
            PageRequest {
                page: 1,
                per_page: 100,
            },
            SortDirection::Asc,
        )
        .await?;
    let credentials: Vec<Value> = page
        .items
        .iter()
        .map(|c| {
            credential_dto(c, claims.sub.clone())
                .to_json()
                .unwrap_or_default()
        })
        .collect();
    Ok(Json(
        json!({ "claims": claims, "credentials": credentials }),
    ))
}

/// A credential of the signed-in user; another user's is not found.
async fn own_credential(demo: &Demo, req: &Request, id: &str) -> Result<TenantId, ApiError> {
    let (tenant, claims) = demo.claims(req).await?;
    demo.tessera
        .get_own_credential(tenant, &claims.sub, id)
        .await?;
    Ok(tenant)
}

#[derive(Deserialize)]
struct RenameBody {
    name: String,
}

#[handler]
async fn demo_rename(
    demo: poem::web::Data<&Demo>,
    req: &Request,
    Path(id): Path<String>,
    body: Result<Json<RenameBody>, poem::Error>,
) -> Result<StatusCode, ApiError> {
    let body = body.map_err(|e| ApiError::invalid(e.to_string()))?;
    let tenant = own_credential(&demo, req, &id).await?;
    demo.tessera
        .rename_credential(tenant, &id, &body.name, &request_meta(req))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[handler]
async fn demo_delete(
    demo: poem::web::Data<&Demo>,
    req: &Request,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let tenant = own_credential(&demo, req, &id).await?;
    demo.tessera
        .delete_credential(tenant, &id, &request_meta(req))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds `/tessera.js`, and the demo when it is enabled, to the public routes.
pub fn mount(route: Route, tessera: &Tessera, config: &Config) -> Route {
    let route = route.at("/tessera.js", poem::get(browser_module));
    if !config.demo {
        return route;
    }
    let demo = Demo {
        tessera: tessera.clone(),
        configured: config.demo_tenant.clone(),
        tenant: Arc::new(OnceCell::new()),
    };
    let api = Route::new()
        .at("/config", poem::get(demo_config))
        .at("/register", poem::post(demo_register))
        .at("/me", poem::get(demo_me))
        .at(
            "/credentials/:id",
            poem::patch(demo_rename).delete(demo_delete),
        )
        .data(demo);
    route
        .at("/demo", poem::get(demo_page))
        .at("/demo/", poem::get(demo_page))
        .at("/demo/demo.js", poem::get(demo_script))
        .nest("/demo/api", api)
}
