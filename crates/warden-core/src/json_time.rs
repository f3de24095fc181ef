//! Times in JSON as RFC 3339 (UTC, whole seconds), never epoch numbers:
//! the field convention of every `warden report --output json` and of the
//! describe view (`#[serde(serialize_with = "json_time::serialize")]`).

pub fn text(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub fn serialize<S: serde::Serializer>(unix: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&text(*unix))
}

/// SPIRE's convention: 0 is "never" (`null`).
pub fn zero_is_never<S: serde::Serializer>(unix: &i64, s: S) -> Result<S::Ok, S::Error> {
    if *unix == 0 { s.serialize_none() } else { serialize(unix, s) }
}

/// An optional time (`null` when there is none).
pub mod opt {
    pub fn serialize<S: serde::Serializer>(unix: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match unix {
            Some(t) => s.serialize_str(&super::text(*t)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize)]
    struct T {
        #[serde(serialize_with = "super::serialize")]
        at: i64,
        #[serde(serialize_with = "super::opt::serialize")]
        until: Option<i64>,
        #[serde(serialize_with = "super::zero_is_never")]
        never: i64,
    }

    #[test]
    fn times_are_rfc3339() {
        let v = serde_json::to_value(T { at: 1_795_420_800, until: None, never: 0 }).unwrap();
        assert_eq!(v, serde_json::json!({"at": "2026-11-23T08:00:00Z", "until": null, "never": null}));
    }
}
