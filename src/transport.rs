//! The one place where HTTP requests of every generated client are executed.

use progenitor_client::{ClientHooks, OperationInfo};

/// State the generated clients carry: shared by the raw bindings and the handwritten layer.
#[derive(Clone, Debug, Default)]
pub struct Transport {}

impl Transport {
    async fn execute(
        &self,
        http: &reqwest::Client,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        http.execute(request).await
    }
}

macro_rules! hooks {
    ($($api:ident),*) => {$(
        impl ClientHooks<Transport> for crate::raw::$api::Client {
            async fn exec(
                &self,
                request: reqwest::Request,
                info: &OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                use progenitor_client::ClientInfo;
                self.inner().execute(self.client(), request, info).await
            }
        }
    )*};
}
hooks!(sfu, turn, account);
