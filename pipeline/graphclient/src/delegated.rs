//! The delegated sign-in of the administrator who links a tenant: the authorization-code flow
//! with `prompt=admin_consent`, which grants the app its permissions in the tenant and returns a
//! code; the code's token then reads who signed in (`/me`) and which tenant it is
//! (`/organization`: the tenant comes from the token, never from the callback's query).

use crate::error::{EntraError, GraphError};
use crate::token::entra_error;
use serde::Deserialize;

/// The administrator who signed in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// E-mail; often null.
    #[serde(default)]
    pub mail: Option<String>,
    /// User principal name, the fallback for the e-mail.
    #[serde(default)]
    pub user_principal_name: Option<String>,
}

/// The sign-in flow against one Entra authority and Graph.
#[derive(Clone)]
pub struct Delegated {
    http: reqwest::Client,
    login_url: String,
    graph_base: String,
    client_id: String,
    client_secret: String,
}

impl std::fmt::Debug for Delegated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delegated")
            .field("login_url", &self.login_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Scopes asked at sign-in: everything the app is configured for, and the sign-in itself.
pub const SCOPES: &str = "https://graph.microsoft.com/.default openid profile offline_access";

impl Delegated {
    /// The flow for app `client_id`.
    pub fn new(
        http: reqwest::Client,
        login_url: &str,
        graph_base: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Self {
        Delegated {
            http,
            login_url: login_url.trim_end_matches('/').to_string(),
            graph_base: graph_base.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
        }
    }

    /// Where to send the administrator's browser.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        let base = format!("{}/organizations/oauth2/v2.0/authorize", self.login_url);
        let query = [
            ("client_id", self.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("response_mode", "query"),
            ("scope", SCOPES),
            ("state", state),
            ("prompt", "admin_consent"),
        ];
        match reqwest::Url::parse_with_params(&base, &query) {
            Ok(url) => url.to_string(),
            // The login URL is validated with the configuration; keep the base if it is not.
            Err(_) => base,
        }
    }

    /// Exchanges the callback's code for a delegated access token.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<String, EntraError> {
        #[derive(Deserialize)]
        struct Answer {
            access_token: String,
        }
        let url = format!("{}/organizations/oauth2/v2.0/token", self.login_url);
        let response = self
            .http
            .post(&url)
            .form(&[
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.as_str()),
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("scope", SCOPES),
            ])
            .send()
            .await
            .map_err(EntraError::transport)?;
        if !response.status().is_success() {
            return Err(entra_error(response).await);
        }
        response
            .json::<Answer>()
            .await
            .map(|a| a.access_token)
            .map_err(EntraError::unexpected)
    }

    async fn get(&self, token: &str, path: &str) -> Result<serde_json::Value, GraphError> {
        let url = format!("{}{path}", self.graph_base);
        let response = self
            .http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| GraphError::Transport(format!("GET {path}: {e}")))?;
        if !response.status().is_success() {
            return Err(GraphError::Refused {
                status: response.status().as_u16(),
                code: String::new(),
                message: format!("GET {path}"),
            });
        }
        response
            .json()
            .await
            .map_err(|e| GraphError::Transport(format!("GET {path}: {e}")))
    }

    /// Who signed in.
    pub async fn me(&self, token: &str) -> Result<Me, GraphError> {
        serde_json::from_value(self.get(token, "/me").await?)
            .map_err(|e| GraphError::Transport(format!("/me: {e}")))
    }

    /// The signed-in user's tenant GUID, from the directory itself.
    pub async fn tenant_id(&self, token: &str) -> Result<String, GraphError> {
        let body = self.get(token, "/organization").await?;
        body["value"][0]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| GraphError::Transport("/organization has no id".into()))
    }
}
