//! Matching a request to one route of a function's table. A `{name}` segment of a route's path
//! captures one non-empty path segment (still percent-encoded), as in OpenAPI and API Gateway.

/// One route of a function: the table is what the router matches on, and what tests compare
/// with the OpenAPI document and `template.yaml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route<Op> {
    pub operation: Op,
    pub method: &'static str,
    pub path: &'static str,
}

pub const fn route<Op>(operation: Op, method: &'static str, path: &'static str) -> Route<Op> {
    Route {
        operation,
        method,
        path,
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Resolved<'a, Op> {
    Found {
        operation: Op,
        /// The raw (still percent-encoded) `{…}` segment of the path, if the route has one (with
        /// several, the span from the first to the last).
        parameter: Option<&'a str>,
    },
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

fn is_parameter(segment: &str) -> bool {
    segment.len() > 2 && segment.starts_with('{') && segment.ends_with('}')
}

/// Whether `path` fits `template`, and the span of its parameters: a route with several
/// (`/v1/templates/{name}/{language}`) captures from the first to the last, `/` included.
fn matches<'a>(template: &str, path: &'a str) -> Option<Option<&'a str>> {
    let mut template = template.split('/');
    let mut offset = 0;
    let mut span: Option<(usize, usize)> = None;
    for segment in path.split('/') {
        let t = template.next()?;
        let end = offset + segment.len();
        if is_parameter(t) && !segment.is_empty() {
            span = Some((span.map_or(offset, |(start, _)| start), end));
        } else if t != segment {
            return None;
        }
        offset = end + 1;
    }
    if template.next().is_some() {
        return None;
    }
    Some(span.map(|(start, end)| &path[start..end]))
}

/// The route `method` and `path` ask for; a known path with another method is told which
/// methods it accepts.
pub fn resolve<'a, Op: Copy>(
    routes: &[Route<Op>],
    method: &str,
    path: &'a str,
) -> Resolved<'a, Op> {
    let mut allowed = Vec::new();
    for route in routes {
        if let Some(parameter) = matches(route.path, path) {
            if route.method.eq_ignore_ascii_case(method) {
                return Resolved::Found {
                    operation: route.operation,
                    parameter,
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

    const ROUTES: &[Route<u8>] = &[
        route(1, "GET", "/v1/things/{thing}"),
        route(2, "PATCH", "/v1/things/{thing}"),
        route(3, "GET", "/v1/settings"),
    ];

    #[test]
    fn parameters_capture_one_segment() {
        assert_eq!(
            resolve(ROUTES, "get", "/v1/things/%2B212"),
            Resolved::Found {
                operation: 1,
                parameter: Some("%2B212")
            }
        );
        assert_eq!(
            resolve(ROUTES, "GET", "/v1/settings"),
            Resolved::Found {
                operation: 3,
                parameter: None
            }
        );
    }

    #[test]
    fn a_known_path_with_another_method_is_405_and_others_404() {
        assert_eq!(
            resolve(ROUTES, "PUT", "/v1/things/x"),
            Resolved::MethodNotAllowed(vec!["GET", "PATCH"])
        );
        for path in [
            "/v1/things/",
            "/v1/things/1/2",
            "/v1/settings/",
            "/v1/{thing}",
        ] {
            assert_eq!(resolve(ROUTES, "GET", path), Resolved::NotFound, "{path}");
        }
    }
}
