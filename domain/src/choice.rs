//! Choice fields: an enum that a request gives as one of its strings, and only so.
//!
//! serde's derived `Deserialize` of a unit enum also takes the externally tagged
//! form `{"degree": null}` as the value `degree`, and reports a number or a boolean
//! as a syntax error without a field. A choice takes only a JSON string: another
//! JSON type is an `invalid type` error (the HTTP layer: 400 `json.type` naming the
//! field), an unknown string an `unknown variant` error listing the allowed values
//! (422 `enum`).

/// Implements `Deserialize` for a unit enum from its strings only:
/// `choice!(Decision { Decision::Approved => "approved", Decision::Rejected => "rejected" });`
#[macro_export]
macro_rules! choice {
    ($ty:ty { $($variant:path => $text:literal),+ $(,)? }) => {
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                const NAMES: &[&str] = &[$($text),+];
                struct Strings;
                impl ::serde::de::Visitor<'_> for Strings {
                    type Value = $ty;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        write!(f, "one of the strings {}", NAMES.join(", "))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, text: &str) -> Result<$ty, E> {
                        match text {
                            $($text => Ok($variant),)+
                            _ => Err(E::unknown_variant(text, NAMES)),
                        }
                    }
                }
                deserializer.deserialize_str(Strings)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq, Eq)]
    enum Kind {
        Degree,
        Certificate,
    }

    crate::choice!(Kind { Kind::Degree => "degree", Kind::Certificate => "certificate" });

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        kind: Kind,
    }

    fn parse(json: &str) -> Result<Body, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn takes_its_strings() {
        assert_eq!(parse(r#"{"kind":"degree"}"#).unwrap().kind, Kind::Degree);
        assert_eq!(
            parse(r#"{"kind":"certificate"}"#).unwrap().kind,
            Kind::Certificate
        );
    }

    #[test]
    fn refuses_the_tagged_object_form() {
        let e = parse(r#"{"kind":{"degree":null}}"#).unwrap_err();
        assert!(
            e.is_data() && e.to_string().starts_with("invalid type: map"),
            "{e}"
        );
    }

    #[test]
    fn other_json_types_are_type_errors_not_syntax_errors() {
        for value in ["1", "true", "[]", "null", "1.5"] {
            let e = parse(&format!(r#"{{"kind":{value}}}"#)).unwrap_err();
            assert!(e.is_data(), "{value}: {e}");
            assert!(e.to_string().starts_with("invalid type"), "{value}: {e}");
        }
    }

    #[test]
    fn an_unknown_string_lists_the_allowed_values() {
        let e = parse(r#"{"kind":"diploma"}"#).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("unknown variant `diploma`"), "{text}");
        assert!(
            text.contains("`degree`") && text.contains("`certificate`"),
            "{text}"
        );
    }
}
