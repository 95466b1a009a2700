//! The URL a WebSocket adapter dials: it often carries a token in its query (the service
//! sends no custom headers), so it prints without one.

use std::fmt;

/// The WebSocket URL of an adapter. `Debug` and `Display` keep the scheme, host and path
/// but hide any user info and query, which is where such URLs carry their tokens;
/// [`AdapterUrl::as_str`] gives the whole URL.
///
/// ```
/// use cloudflare_calls::adapters::AdapterUrl;
/// let e = AdapterUrl::new("wss://media.example.com/ingest?token=hunter2");
/// assert_eq!(format!("{e:?}"), r#""wss://media.example.com/ingest?[REDACTED]""#);
/// assert_eq!(e.to_string(), "wss://media.example.com/ingest?[REDACTED]");
/// assert_eq!(e.as_str(), "wss://media.example.com/ingest?token=hunter2");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AdapterUrl(String);

impl AdapterUrl {
    /// Wraps a URL such as `wss://host/path?token=...`.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The whole URL, token included.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AdapterUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HIDDEN: &str = "[REDACTED]";
        let url = self.0.as_str();
        let (before_query, query) = match url.split_once(['?', '#']) {
            Some((before, _)) => (before, Some(&url[before.len()..=before.len()])),
            None => (url, None),
        };
        let (scheme, rest) = before_query.split_once("://").unwrap_or(("", before_query));
        if !scheme.is_empty() {
            write!(f, "{scheme}://")?;
        }
        // `user:password@` before the host.
        let authority_end = rest.find('/').unwrap_or(rest.len());
        match rest[..authority_end].rsplit_once('@') {
            Some((_, host)) => write!(f, "{HIDDEN}@{host}{}", &rest[authority_end..])?,
            None => f.write_str(rest)?,
        }
        match query {
            Some(mark) => write!(f, "{mark}{HIDDEN}"),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for AdapterUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl From<String> for AdapterUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl From<&str> for AdapterUrl {
    fn from(url: &str) -> Self {
        Self(url.to_owned())
    }
}

impl<'de> serde::Deserialize<'de> for AdapterUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

impl serde::Serialize for AdapterUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::AdapterUrl;

    #[test]
    fn prints_without_credentials() {
        for (text, shown) in [
            ("wss://h.example/p", "wss://h.example/p"),
            (
                "wss://h.example/p?token=t0p",
                "wss://h.example/p?[REDACTED]",
            ),
            ("wss://h.example/p#t0p", "wss://h.example/p#[REDACTED]"),
            ("wss://user:t0p@h.example/p", "wss://[REDACTED]@h.example/p"),
            (
                "wss://u:t0p@h.example?k=t0p",
                "wss://[REDACTED]@h.example?[REDACTED]",
            ),
            ("not a url?t0p", "not a url?[REDACTED]"),
            ("", ""),
        ] {
            let url = AdapterUrl::new(text);
            assert_eq!(url.to_string(), shown);
            assert!(!format!("{url:?}").contains("t0p"));
            assert_eq!(url.as_str(), text);
        }
    }
}
