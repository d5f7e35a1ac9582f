//! Trusted proxy headers (`Forwarded`, `X-Forwarded-*`), applied to the environ before the app runs.
