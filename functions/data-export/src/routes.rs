//! The routes this function serves, in one table: the router matches on it, and tests compare it
//! with the OpenAPI document and `template.yaml`.

use mizan_shared::http_api::route;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    RequestExport,
    GetExport,
    RevokeExport,
    Download,
}

pub type Route = mizan_shared::http_api::Route<Operation>;
pub type Resolved<'a> = mizan_shared::http_api::Resolved<'a, Operation>;

/// The download route has no API key: its token is the credential.
pub use mizan_shared::domain::download_token::DOWNLOAD_PATH;

pub const ROUTES: &[Route] = &[
    route(Operation::RequestExport, "POST", "/v1/exports"),
    route(Operation::GetExport, "GET", "/v1/exports/{id}"),
    route(Operation::RevokeExport, "DELETE", "/v1/exports/{id}"),
    route(Operation::Download, "GET", DOWNLOAD_PATH),
];

impl Operation {
    /// The name logs use.
    pub fn name(self) -> &'static str {
        match self {
            Operation::RequestExport => "export.request",
            Operation::GetExport => "export.get",
            Operation::RevokeExport => "export.revoke",
            Operation::Download => "export.download",
        }
    }
}

pub fn resolve<'a>(method: &str, path: &'a str) -> Resolved<'a> {
    mizan_shared::http_api::resolve(ROUTES, method, path)
}
