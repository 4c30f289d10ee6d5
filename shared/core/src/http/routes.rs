//! The one route table: every route the API serves, the function that serves
//! it, and what it is called in logs. The functions' handlers route by it,
//! the dev server dispatches by it, and tests hold the SAM template and the
//! OpenAPI document to it.

use crate::functions::Function;

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    StartStream,
    ListStreams,
    GetStream,
    StreamEvents,
    CloseStream,
    CloseRequest,
    Callback,
}

/// One route of the API.
#[derive(Debug, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// The path template, `{name}` for a parameter (API Gateway's syntax).
    pub path: &'static str,
    pub endpoint: Endpoint,
    pub function: Function,
    /// Its name in logs.
    pub name: &'static str,
}

/// Every route the functions serve.
pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/streams",
        endpoint: Endpoint::StartStream,
        function: Function::Start,
        name: "start",
    },
    Route {
        method: "GET",
        path: "/streams",
        endpoint: Endpoint::ListStreams,
        function: Function::Start,
        name: "listStreams",
    },
    Route {
        method: "GET",
        path: "/streams/{btId}",
        endpoint: Endpoint::GetStream,
        function: Function::Start,
        name: "getStream",
    },
    Route {
        method: "GET",
        path: "/streams/{btId}/events",
        endpoint: Endpoint::StreamEvents,
        function: Function::History,
        name: "streamEvents",
    },
    Route {
        method: "POST",
        path: "/streams/{btId}/close",
        endpoint: Endpoint::CloseStream,
        function: Function::Close,
        name: "closeStream",
    },
    Route {
        method: "POST",
        path: "/requests/{requestId}/close",
        endpoint: Endpoint::CloseRequest,
        function: Function::Close,
        name: "closeRequest",
    },
    Route {
        method: "POST",
        path: "/callbacks/{token}",
        endpoint: Endpoint::Callback,
        function: Function::Callback,
        name: "callback",
    },
];

/// A request matched to a route, with its path parameters (decoded).
#[derive(Debug, PartialEq, Eq)]
pub struct Matched {
    pub route: &'static Route,
    params: Vec<(&'static str, String)>,
}

impl Matched {
    /// A path parameter; empty when the route has none of that name.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(key, _)| *key == name)
            .map_or("", |(_, value)| value.as_str())
    }
}

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    Matched(Matched),
    /// The path exists, but not with this method: these are allowed.
    MethodNotAllowed {
        allow: Vec<&'static str>,
    },
    NotFound,
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.trim_matches('/').split('/')
}

/// The route's parameters if `path` fits its template.
fn fit(route: &'static Route, path: &str) -> Option<Vec<(&'static str, String)>> {
    let mut params = Vec::new();
    let mut given = segments(path);
    for expected in segments(route.path) {
        let segment = given.next()?;
        match expected.strip_prefix('{').and_then(|name| name.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => params.push((
                name,
                percent_encoding::percent_decode_str(segment)
                    .decode_utf8_lossy()
                    .into_owned(),
            )),
            Some(_) => return None,
            None if expected == segment => {}
            None => return None,
        }
    }
    given.next().is_none().then_some(params)
}

/// Finds the route for `method` and `path`.
pub fn resolve(method: &str, path: &str) -> Resolution {
    let mut allow = Vec::new();
    for route in ROUTES {
        if let Some(params) = fit(route, path) {
            if route.method == method {
                return Resolution::Matched(Matched { route, params });
            }
            allow.push(route.method);
        }
    }
    if allow.is_empty() {
        Resolution::NotFound
    } else {
        Resolution::MethodNotAllowed { allow }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(method: &str, path: &str) -> (Endpoint, Vec<(&'static str, String)>) {
        match resolve(method, path) {
            Resolution::Matched(matched) => (matched.route.endpoint, matched.params),
            other => panic!("{method} {path}: {other:?}"),
        }
    }

    #[test]
    fn every_route_of_the_table_is_served() {
        for route in ROUTES {
            let path = route
                .path
                .replace("{btId}", "room-1")
                .replace("{requestId}", "abc")
                .replace("{token}", "t");
            assert_eq!(matched(route.method, &path).0, route.endpoint, "{}", route.path);
        }
    }

    #[test]
    fn paths_are_matched_and_parameters_decoded() {
        assert_eq!(matched("POST", "/streams"), (Endpoint::StartStream, vec![]));
        assert_eq!(matched("POST", "/streams/"), (Endpoint::StartStream, vec![]));
        assert_eq!(matched("GET", "/streams"), (Endpoint::ListStreams, vec![]));
        assert_eq!(
            matched("GET", "/streams/room%201"),
            (Endpoint::GetStream, vec![("btId", "room 1".to_owned())])
        );
        assert_eq!(
            matched("POST", "/streams/room-1/close"),
            (Endpoint::CloseStream, vec![("btId", "room-1".to_owned())])
        );
        assert_eq!(matched("POST", "/requests/abc/close").0, Endpoint::CloseRequest);
        assert_eq!(
            matched("POST", "/callbacks/v1.x.y.z.t"),
            (Endpoint::Callback, vec![("token", "v1.x.y.z.t".to_owned())])
        );
    }

    #[test]
    fn a_known_path_with_another_method_names_the_allowed_ones() {
        assert_eq!(
            resolve("PUT", "/streams"),
            Resolution::MethodNotAllowed {
                allow: vec!["POST", "GET"]
            }
        );
        assert_eq!(
            resolve("DELETE", "/streams/x"),
            Resolution::MethodNotAllowed { allow: vec!["GET"] }
        );
        assert_eq!(
            resolve("GET", "/callbacks/t"),
            Resolution::MethodNotAllowed { allow: vec!["POST"] }
        );
        assert_eq!(resolve("POST", "/nope"), Resolution::NotFound);
        assert_eq!(resolve("POST", "/streams//close"), Resolution::NotFound);
        assert_eq!(resolve("POST", "/streams/a/close/more"), Resolution::NotFound);
    }
}
