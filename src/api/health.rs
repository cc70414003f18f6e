//! Liveness and readiness, on both listeners.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use sea_orm::DatabaseConnection;

use super::error::ApiError;

#[derive(Tags)]
enum HealthTags {
    /// Liveness and readiness probes.
    Health,
}

/// Liveness answer.
#[derive(Object)]
pub struct Alive {
    /// Always true: the process answers.
    pub alive: bool,
}

/// Readiness answer.
#[derive(Object)]
pub struct Ready {
    /// True when the database answers.
    pub ready: bool,
}

/// Readiness: 200 when ready.
#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The database answers.
    #[oai(status = 200)]
    Ok(Json<Ready>),
}

/// Health probes.
pub struct HealthApi {
    /// The database to probe.
    pub db: DatabaseConnection,
}

impl HealthApi {
    async fn ready(&self) -> Result<ReadyResponse, ApiError> {
        match crate::repo::ping(&self.db).await {
            Ok(()) => Ok(ReadyResponse::Ok(Json(Ready { ready: true }))),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                Err(ApiError::new(
                    poem::http::StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "not ready",
                    "the database does not answer",
                ))
            }
        }
    }
}

#[OpenApi]
impl HealthApi {
    /// Liveness: 200 while the process serves requests. Anyone may call it.
    #[oai(
        path = "/livez",
        method = "get",
        operation_id = "get_liveness",
        tag = "HealthTags::Health"
    )]
    async fn livez(&self) -> Json<Alive> {
        Json(Alive { alive: true })
    }

    /// Liveness under Hanko's path. Anyone may call it.
    #[oai(
        path = "/health/alive",
        method = "get",
        operation_id = "get_health_alive",
        tag = "HealthTags::Health"
    )]
    async fn health_alive(&self) -> Json<Alive> {
        Json(Alive { alive: true })
    }

    /// Readiness: 200 when the database answers, 503 `database_unavailable` otherwise. Anyone may call it.
    #[oai(
        path = "/readyz",
        method = "get",
        operation_id = "get_readiness",
        tag = "HealthTags::Health"
    )]
    async fn readyz(&self) -> Result<ReadyResponse, ApiError> {
        self.ready().await
    }

    /// Readiness under Hanko's path: 200, or 503 `database_unavailable`. Anyone may call it.
    #[oai(
        path = "/health/ready",
        method = "get",
        operation_id = "get_health_ready",
        tag = "HealthTags::Health"
    )]
    async fn health_ready(&self) -> Result<ReadyResponse, ApiError> {
        self.ready().await
    }
}
