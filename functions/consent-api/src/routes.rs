//! The routes this function serves, in one table: the router matches on it, and tests compare it
//! with the OpenAPI document and `template.yaml`.

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    GetContact,
    CorrectContact,
    GetConsent,
    RecordConsent,
    Restrict,
    LiftRestriction,
    TakeOver,
    HandBack,
    Erase,
    FlagMinor,
    GetSettings,
    UpdateSettings,
    GetAudit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub operation: Operation,
    pub method: &'static str,
    /// With `{contact}` where a contact reference goes, as in OpenAPI and API Gateway.
    pub path: &'static str,
}

const fn route(operation: Operation, method: &'static str, path: &'static str) -> Route {
    Route {
        operation,
        method,
        path,
    }
}

pub const CONTACT_PARAMETER: &str = "{contact}";

pub const ROUTES: &[Route] = &[
    route(Operation::GetContact, "GET", "/v1/contacts/{contact}"),
    route(Operation::CorrectContact, "PATCH", "/v1/contacts/{contact}"),
    route(
        Operation::GetConsent,
        "GET",
        "/v1/contacts/{contact}/consent",
    ),
    route(
        Operation::RecordConsent,
        "POST",
        "/v1/contacts/{contact}/consent",
    ),
    route(
        Operation::Restrict,
        "POST",
        "/v1/contacts/{contact}/restriction",
    ),
    route(
        Operation::LiftRestriction,
        "DELETE",
        "/v1/contacts/{contact}/restriction",
    ),
    route(
        Operation::TakeOver,
        "POST",
        "/v1/contacts/{contact}/takeover",
    ),
    route(
        Operation::HandBack,
        "DELETE",
        "/v1/contacts/{contact}/takeover",
    ),
    route(Operation::Erase, "POST", "/v1/contacts/{contact}/erasure"),
    route(Operation::FlagMinor, "POST", "/v1/contacts/{contact}/minor"),
    route(Operation::GetSettings, "GET", "/v1/settings"),
    route(Operation::UpdateSettings, "PATCH", "/v1/settings"),
    route(Operation::GetAudit, "GET", "/v1/audit"),
];

impl Operation {
    /// The name logs and audit events use.
    pub fn name(self) -> &'static str {
        match self {
            Operation::GetContact => "contact.get",
            Operation::CorrectContact => "contact.correct",
            Operation::GetConsent => "consent.get",
            Operation::RecordConsent => "consent.record",
            Operation::Restrict => "restriction.set",
            Operation::LiftRestriction => "restriction.lift",
            Operation::TakeOver => "takeover.set",
            Operation::HandBack => "takeover.lift",
            Operation::Erase => "contact.erase",
            Operation::FlagMinor => "contact.flag_minor",
            Operation::GetSettings => "settings.get",
            Operation::UpdateSettings => "settings.update",
            Operation::GetAudit => "audit.list",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Resolved<'a> {
    Found {
        operation: Operation,
        /// The raw (still percent-encoded) `{contact}` segment.
        contact: Option<&'a str>,
    },
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

fn matches<'a>(template: &str, path: &'a str) -> Option<Option<&'a str>> {
    let mut template = template.split('/');
    let mut path = path.split('/');
    let mut contact = None;
    loop {
        match (template.next(), path.next()) {
            (None, None) => return Some(contact),
            (Some(CONTACT_PARAMETER), Some(segment)) if !segment.is_empty() => {
                contact = Some(segment)
            }
            (Some(t), Some(p)) if t == p => {}
            _ => return None,
        }
    }
}

pub fn resolve<'a>(method: &str, path: &'a str) -> Resolved<'a> {
    let mut allowed = Vec::new();
    for route in ROUTES {
        if let Some(contact) = matches(route.path, path) {
            if route.method.eq_ignore_ascii_case(method) {
                return Resolved::Found {
                    operation: route.operation,
                    contact,
                };
            }
            allowed.push(route.method);
        }
    }
    if allowed.is_empty() {
        Resolved::NotFound
    } else {
        Resolved::MethodNotAllowed(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_resolves_to_its_operation() {
        for route in ROUTES {
            let path = route.path.replace(CONTACT_PARAMETER, "%2B212600000000");
            let Resolved::Found { operation, contact } = resolve(route.method, &path) else {
                panic!("{} {} does not resolve", route.method, route.path);
            };
            assert_eq!(operation, route.operation);
            assert_eq!(
                contact.is_some(),
                route.path.contains(CONTACT_PARAMETER),
                "{}",
                route.path
            );
        }
    }

    #[test]
    fn a_known_path_with_another_method_is_405_and_others_404() {
        assert_eq!(
            resolve("PUT", "/v1/settings"),
            Resolved::MethodNotAllowed(vec!["GET", "PATCH"])
        );
        assert_eq!(resolve("GET", "/v1/contacts/"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/v1/contacts/1/2"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/v1/settings/"), Resolved::NotFound);
    }
}
