//! Counts the requests the router refuses, by endpoint and status
//! (`calls_whip_refusals_total`), whichever part of it refused them.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::metrics;

pub(crate) async fn layer(request: Request, next: Next) -> Response {
    let endpoint = if request.uri().path().starts_with("/whep") {
        "whep"
    } else {
        "whip"
    };
    let response = next.run(request).await;
    let status = response.status().as_u16();
    if status >= 400 {
        metrics::count(
            metrics::WHIP_REFUSALS,
            &[
                ("endpoint", endpoint),
                ("status", metrics::status_label(status)),
            ],
            1,
        );
    }
    response
}
