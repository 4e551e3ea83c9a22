//! A function's IAM policy as `template.yaml` declares it, read into actions and logical
//! resources (`!GetAtt DataTable.Arn` → `DataTable`, `!Sub "${DataTable.Arn}/index/*"` →
//! `DataTable/index/*`), and the two checks of the IAM contract: every call recorded is allowed,
//! and every grant is used.

use crate::aws_calls::AwsCall;
use serde_yaml::Value;

/// One statement: any of `actions` on any of `resources` (`*` matches any run of characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub sid: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// The template at the repository root.
pub fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml at the repository root");
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

fn logical(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().flat_map(logical).collect(),
        Value::String(text) => vec![text.clone()],
        Value::Tagged(tagged) => {
            let text = tagged.value.as_str().unwrap_or_default();
            if tagged.tag == "Ref" {
                vec![text.to_owned()]
            } else if tagged.tag == "GetAtt" {
                vec![text.trim_end_matches(".Arn").to_owned()]
            } else if tagged.tag == "Sub" {
                let mut out = text.to_owned();
                while let Some(start) = out.find("${") {
                    let Some(len) = out[start..].find('}') else {
                        break;
                    };
                    let name = out[start + 2..start + len]
                        .trim_end_matches(".Arn")
                        .to_owned();
                    out.replace_range(start..=start + len, &name);
                }
                vec![out]
            } else {
                vec![format!("!{}", tagged.tag)]
            }
        }
        _ => Vec::new(),
    }
}

/// The statements of `function`'s inline policy.
pub fn grants(template: &Value, function: &str) -> Vec<Grant> {
    let policies = &template["Resources"][function]["Properties"]["Policies"];
    policies
        .as_sequence()
        .unwrap_or_else(|| panic!("{function} declares Policies"))
        .iter()
        .flat_map(|policy| {
            policy["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|statement| statement["Effect"] == "Allow")
        .map(|statement| Grant {
            sid: statement["Sid"].as_str().unwrap_or_default().to_owned(),
            actions: logical(&statement["Action"]),
            resources: logical(&statement["Resource"]),
        })
        .collect()
}

fn matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len())
                    .any(|skip| matches(tail, &text[head.len() + skip..]))
        }
    }
}

/// Whether some statement allows `call`.
pub fn allows(grants: &[Grant], call: &AwsCall) -> bool {
    grants.iter().any(|g| {
        g.actions.iter().any(|a| matches(a, &call.action))
            && g.resources.iter().any(|r| matches(r, &call.resource))
    })
}

/// The calls no statement allows.
pub fn denied<'a>(grants: &[Grant], calls: impl IntoIterator<Item = &'a AwsCall>) -> Vec<AwsCall> {
    calls
        .into_iter()
        .filter(|call| !allows(grants, call))
        .cloned()
        .collect()
}

/// The (statement, action) pairs that no recorded call used and that `indirect` does not
/// account for (an action AWS performs with the function's role on its behalf, such as S3
/// using the CMK for SSE-KMS, or Lambda reading the stream).
pub fn unused(grants: &[Grant], calls: &[AwsCall], indirect: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for grant in grants {
        for action in &grant.actions {
            let used = calls.iter().any(|call| {
                matches(action, &call.action)
                    && grant.resources.iter().any(|r| matches(r, &call.resource))
            });
            if !used && !indirect.contains(&action.as_str()) {
                out.push(format!("{}: {action}", grant.sid));
            }
        }
    }
    out
}

/// The IAM contract of one function: every call `recorder` saw is allowed by the function's
/// policy in `template.yaml`, and every action the policy grants is used by some call or
/// accounted for by `indirect` (least privilege both ways).
pub fn assert_contract(function: &str, recorder: &crate::aws_calls::AwsCalls, indirect: &[&str]) {
    let grants = grants(&template(), function);
    let calls: Vec<_> = recorder.calls().into_iter().collect();
    assert!(!calls.is_empty(), "{function} was exercised");
    let denied = denied(&grants, &calls);
    assert!(
        denied.is_empty(),
        "{function} calls what its policy does not allow (it would fail on AWS): {denied:#?}"
    );
    let unused = unused(&grants, &calls, indirect);
    assert!(
        unused.is_empty(),
        "{function}'s policy grants what it never uses: {unused:#?}\ncalls: {calls:#?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_read_into_logical_resources_and_globs_match() {
        let t = template();
        let g = grants(&t, "ConsentApiFunction");
        let data = g.iter().find(|g| g.sid == "DataTableItems").unwrap();
        assert!(data.resources.contains(&"DataTable".to_owned()));
        assert!(data.resources.contains(&"DataTable/index/*".to_owned()));
        let call = AwsCall {
            action: "dynamodb:Query".into(),
            resource: "DataTable/index/retention".into(),
        };
        assert!(allows(&g, &call));
        assert!(!allows(
            &g,
            &AwsCall {
                action: "dynamodb:Scan".into(),
                resource: "DataTable".into()
            }
        ));
        assert!(matches(
            "ExportBucket/exports/*",
            "ExportBucket/exports/t/a.zip"
        ));
        assert!(!matches("ExportBucket/exports/*", "ExportBucket/other"));
    }
}
