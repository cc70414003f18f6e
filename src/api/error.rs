//! The one error envelope: every non-2xx response is `{"title", "details", "status", "code"}`.
//!
//! Service errors are mapped to [`ApiError`] here, once. Errors raised by poem and poem-openapi themselves
//! (malformed JSON, wrong content type, bad parameters, unknown routes, wrong methods, oversized bodies) are
//! rewritten into the same envelope by [`envelope_for`], which the server installs on both listeners. Internal
//! details are logged here and never sent.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object};

use crate::service;

/// The JSON body of every error response.
#[derive(Clone, Debug, Object, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[oai(rename = "Error")]
pub struct ErrorBody {
    /// A short, human-readable summary.
    pub title: String,
    /// What exactly was wrong, when there is something to say.
    pub details: String,
    /// The HTTP status code.
    pub status: u16,
    /// A stable snake_case code for programs to branch on.
    pub code: String,
}

/// An error response.
#[derive(Clone, Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    headers: Vec<(&'static str, String)>,
}

impl ApiError {
    /// An error with a status, code, title and details.
    pub fn new(status: StatusCode, code: &str, title: &str, details: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                title: title.to_string(),
                details: details.into(),
                status: status.as_u16(),
                code: code.to_string(),
            },
            headers: Vec::new(),
        }
    }

    /// 400 for a request whose content breaks the rules.
    pub fn invalid(details: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "unable to validate request",
            details,
        )
    }

    /// 404 for a missing resource.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            &format!("{}_not_found", what.replace(' ', "_")),
            &format!("{what} not found"),
            "",
        )
    }

    /// 401 for a missing or wrong credential.
    pub fn unauthorized(code: &str, title: &str, details: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, title, details)
    }

    /// 500 that hides its cause: the cause is logged here, once.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal Server Error",
            "",
        )
    }

    /// Adds a response header (for example `WWW-Authenticate`).
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.body.status, self.body.code, self.body.title
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = poem::web::Json(&self.body)
            .with_status(self.status)
            .into_response();
        for (name, value) in self.headers {
            if let Ok(v) = value.parse() {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let content = || {
            vec![MetaMediaType {
                content_type: "application/json; charset=utf-8",
                schema: ErrorBody::schema_ref(),
            }]
        };
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "The request was refused; `code` says why.",
                    status: None,
                    status_range: Some("4XX".into()),
                    content: content(),
                    headers: vec![],
                },
                MetaResponse {
                    description: "Tessera could not complete the request; nothing was changed.",
                    status: None,
                    status_range: Some("5XX".into()),
                    content: content(),
                    headers: vec![],
                },
            ],
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

impl From<service::Error> for ApiError {
    fn from(e: service::Error) -> Self {
        match e {
            service::Error::NotFound(what) => ApiError::not_found(what),
            service::Error::Invalid(errors) => ApiError::invalid(errors.join(" and ")),
            service::Error::Conflict(msg) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", &msg, "")
            }
            service::Error::InvalidApiKey => ApiError::unauthorized(
                "invalid_api_key",
                "The api key is invalid",
                "send the tenant's API key in the apiKey header or as Authorization: Bearer",
            ),
            service::Error::InvalidToken => ApiError::unauthorized(
                "invalid_token",
                "The token is invalid",
                "send a live token this tenant issued as Authorization: Bearer",
            ),
            service::Error::Repo(e) => ApiError::internal(&e),
            service::Error::Internal(e) => ApiError::internal(&e),
        }
    }
}

impl From<crate::service::passkeys::CeremonyError> for ApiError {
    fn from(e: crate::service::passkeys::CeremonyError) -> Self {
        use crate::service::passkeys::CeremonyError as C;
        let code = e.code();
        match e {
            C::Service(s) => ApiError::from(s),
            C::Challenge(c) => ApiError::new(
                StatusCode::BAD_REQUEST,
                code,
                "the challenge cannot finish this ceremony",
                c.to_string(),
            ),
            C::Registration(w) => ApiError::new(
                StatusCode::BAD_REQUEST,
                code,
                "failed to validate attestation",
                w.to_string(),
            ),
            C::Assertion(w) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                code,
                "failed to validate assertion",
                w.to_string(),
            ),
            C::CredentialNotFound => ApiError::new(
                StatusCode::UNAUTHORIZED,
                code,
                "unknown credential",
                "the credential is not registered with this tenant (it may have been deleted)",
            ),
            C::CredentialExists => ApiError::new(
                StatusCode::CONFLICT,
                code,
                "credential already registered",
                "",
            ),
            C::WrongCredentialKind(why) => ApiError::new(StatusCode::BAD_REQUEST, code, why, ""),
            C::NoCredentials => ApiError::new(
                StatusCode::BAD_REQUEST,
                code,
                "user has no suitable credentials for this operation",
                "",
            ),
            C::UserMismatch => ApiError::new(
                StatusCode::UNAUTHORIZED,
                code,
                "failed to validate assertion",
                e.to_string(),
            ),
            C::CounterRegressed | C::TransactionMismatch => ApiError::new(
                StatusCode::UNAUTHORIZED,
                code,
                "failed to validate assertion",
                e.to_string(),
            ),
            C::TransactionExists => {
                ApiError::new(StatusCode::CONFLICT, code, "transaction already exists", "")
            }
            C::TransactionClosed(_) => ApiError::new(
                StatusCode::CONFLICT,
                code,
                "the transaction is no longer pending",
                e.to_string(),
            ),
        }
    }
}

/// Rewrites any error that reached the edge of a listener into the envelope.
pub fn envelope_for(err: poem::Error) -> Response {
    let operation = err.data::<poem_openapi::OperationId>().copied();
    let mut resp = envelope_of(err);
    if let Some(op) = operation {
        resp.set_data(op);
    }
    resp
}

fn envelope_of(err: poem::Error) -> Response {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.clone().into_response();
    }
    let status = err.status();
    let details = err.to_string();
    let (code, title, details) = if err.is::<poem::error::NotFoundError>() {
        ("route_not_found", "no such route", String::new())
    } else if err.is::<poem::error::MethodNotAllowedError>() {
        (
            "method_not_allowed",
            "method not allowed for this route",
            String::new(),
        )
    } else if err.is::<poem_openapi::error::ContentTypeError>() {
        (
            "unsupported_media_type",
            "unsupported content type",
            details,
        )
    } else if err.is::<poem_openapi::error::ParseRequestPayloadError>()
        || err.is::<poem::error::ParseJsonError>()
    {
        ("invalid_body", "unable to process request", details)
    } else if err.is::<poem_openapi::error::ParseParamError>()
        || err.is::<poem::error::ParsePathError>()
        || err.is::<poem::error::ParseQueryError>()
    {
        ("invalid_parameter", "invalid parameter", details)
    } else if err.is::<poem_openapi::error::AuthorizationError>() {
        ("unauthorized", "authorization required", String::new())
    } else if status == StatusCode::PAYLOAD_TOO_LARGE {
        ("payload_too_large", "request body too large", String::new())
    } else if status.is_server_error() {
        tracing::error!(error = %details, "internal error at the edge");
        ("internal_error", "Internal Server Error", String::new())
    } else {
        (
            "bad_request",
            status.canonical_reason().unwrap_or("bad request"),
            details,
        )
    };
    let status = if code == "unsupported_media_type" {
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    } else {
        status
    };
    ApiError::new(status, code, title, details).into_response()
}
