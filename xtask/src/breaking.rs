//! The gate against breaking changes: `cargo xtask openapi --breaking` compares `openapi.yaml`
//! with the latest released contract, `docs/api/openapi-<version>.yaml` (the highest version by
//! semver), using Optic's `diff --check` with its breaking-change ruleset
//! (`xtask/optic/standard.yml`), and fails on any breaking change. `--breaking-selftest` proves
//! the gate on copies of `openapi.yaml` with a breaking or a compatible change made to them.
//!
//! Optic is pinned in `xtask/optic/package-lock.json` and installed by `bash
//! xtask/optic/install.sh` into `xtask/optic/node_modules`; see `docs/api/README.md`.

use std::{
    fmt::Write as _,
    fs::File,
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{BROKEN, STALE as BREAKING};

/// The folder of the released contracts, relative to the workspace root.
const RELEASES: &str = "docs/api";
/// The command that installs the diff tool.
const INSTALL_COMMAND: &str = "bash xtask/optic/install.sh";
/// The longest one comparison may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(180);
/// What Optic writes next to each breaking change it finds.
const BREAKING_MARK: &str = "This is a breaking change";

/// The workspace root (the parent of `xtask/`).
fn root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// `path` relative to the workspace root when it is inside it, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A failure that is not a breaking change: the tool or a file is missing or unreadable.
struct Broken(String);

impl From<String> for Broken {
    fn from(message: String) -> Self {
        Self(message)
    }
}

/// `cargo xtask openapi --breaking [--spec FILE] [--against FILE]`.
pub fn command(args: &[&str]) -> ExitCode {
    let mut spec = crm_server::openapi::committed_path();
    let mut against = None;
    let mut rest = args;
    loop {
        match rest {
            [] => break,
            // Optic runs in the workspace root: a relative FILE is made absolute here.
            ["--spec", file, tail @ ..] => {
                spec = std::path::absolute(file).unwrap_or_else(|_| PathBuf::from(file));
                rest = tail;
            }
            ["--against", file, tail @ ..] => {
                against = Some(std::path::absolute(file).unwrap_or_else(|_| PathBuf::from(file)));
                rest = tail;
            }
            _ => {
                eprintln!("{}", crate::USAGE);
                return ExitCode::from(BROKEN);
            }
        }
    }
    let result = (|| {
        let tool = Optic::installed()?;
        let against = match against {
            Some(file) => file,
            None => latest_release()?,
        };
        Ok::<_, Broken>((tool.compare(&against, &spec)?, against))
    })();
    match result {
        Ok((Comparison::Compatible { summary }, against)) => {
            println!(
                "no breaking change against {}{}",
                shown(&against),
                summary.map(|s| format!(" ({s})")).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok((Comparison::Breaking { report }, against)) => {
            println!("{report}\n");
            let findings = findings(&report);
            eprintln!(
                "error: {} breaks the contract released as {}: {} breaking change{}, each of \
                 which breaks clients generated from it:",
                shown(&spec),
                shown(&against),
                findings.len(),
                if findings.len() == 1 { "" } else { "s" }
            );
            for finding in &findings {
                eprintln!("  {finding}");
            }
            eprintln!(
                "Make the change compatible (add; do not remove, rename or tighten), or release \
                 a new major version on purpose: see docs/api/README.md."
            );
            ExitCode::from(BREAKING)
        }
        Err(Broken(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(BROKEN)
        }
    }
}

/// The released contract with the highest version among `docs/api/openapi-<version>.yaml`.
/// Every `openapi-*.yaml` there must be named after a semver version, and the chosen one must
/// say that version as its `info.version`.
fn latest_release() -> Result<PathBuf, Broken> {
    let folder = root().join(RELEASES);
    let entries = std::fs::read_dir(&folder)
        .map_err(|error| format!("cannot read {}: {error}", shown(&folder)))?;
    let mut releases = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|error| format!("cannot read {}: {error}", shown(&folder)))?
            .path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(version) = name
            .strip_prefix("openapi-")
            .and_then(|n| n.strip_suffix(".yaml"))
        else {
            continue;
        };
        let version = semver::Version::parse(version).map_err(|error| {
            format!(
                "{}: the name's version is not semver ({error}); a released contract is \
                 {RELEASES}/openapi-<info.version>.yaml",
                shown(&path)
            )
        })?;
        releases.push((version, path));
    }
    let (version, path) = releases.into_iter().max().ok_or_else(|| {
        format!(
            "no released contract in {RELEASES}/ (openapi-<version>.yaml): copy openapi.yaml \
             there as the first release, see docs/api/README.md"
        )
    })?;
    let document = read_document(&path)?;
    let declared = document["info"]["version"].as_str().unwrap_or_default();
    if declared != version.to_string() {
        return Err(Broken(format!(
            "{} says info.version {declared:?}, not {version}: a released contract is an \
             unchanged copy of openapi.yaml named after its version",
            shown(&path)
        )));
    }
    Ok(path)
}

/// Reads an OpenAPI document (YAML or JSON) as a JSON value.
fn read_document(path: &Path) -> Result<Value, Broken> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", shown(path)))?;
    yaml_serde::from_str(&text)
        .map_err(|error| Broken(format!("{} is not YAML: {error}", shown(path))))
}

/// What a comparison found.
enum Comparison {
    /// Nothing breaking; the tool's one-line summary of the changes, if it gave one.
    Compatible { summary: Option<String> },
    /// Breaking changes: the tool's report, naming each.
    Breaking { report: String },
}

/// The installed Optic.
struct Optic {
    bin: PathBuf,
    standard: PathBuf,
    version: String,
}

impl Optic {
    /// The Optic that `xtask/optic/install.sh` installed, if it is there and is the pinned
    /// version.
    fn installed() -> Result<Self, Broken> {
        let dir = root().join("xtask/optic");
        let bin = dir.join("node_modules/.bin/optic");
        let pinned = std::fs::read_to_string(dir.join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .and_then(|package| {
                package["devDependencies"]["@useoptic/optic"]
                    .as_str()
                    .map(str::to_owned)
            })
            .ok_or_else(|| "xtask/optic/package.json does not pin @useoptic/optic".to_owned())?;
        let version =
            std::fs::read_to_string(dir.join("node_modules/@useoptic/optic/package.json"))
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .and_then(|package| package["version"].as_str().map(str::to_owned));
        match version {
            Some(version) if version == pinned && bin.exists() => Ok(Self {
                bin,
                standard: dir.join("standard.yml"),
                version,
            }),
            Some(version) if bin.exists() => Err(Broken(format!(
                "xtask/optic/node_modules has optic {version}, the pinned one is {pinned}: \
                 run `{INSTALL_COMMAND}`"
            ))),
            _ => Err(Broken(format!(
                "the OpenAPI diff tool (optic {pinned}) is not installed: run \
                 `{INSTALL_COMMAND}` (npm ci of xtask/optic/package-lock.json into \
                 xtask/optic/node_modules; Node 20+ and the npm registry)"
            ))),
        }
    }

    /// Compares `new` with `old` (the released contract) by `optic diff OLD NEW --check`.
    fn compare(&self, old: &Path, new: &Path) -> Result<Comparison, Broken> {
        for file in [old, new] {
            if !file.is_file() {
                return Err(Broken(format!("{} does not exist", shown(file))));
            }
        }
        let out = tempfile::NamedTempFile::new()
            .map_err(|error| format!("cannot create a temporary file: {error}"))?;
        let (status, output) = self.run(old, new, &out)?;
        // Optic's hints at its web view and cloud are of no use here.
        let report = output
            .lines()
            .filter(|line| !line.starts_with("Rerun this command with the --web flag"))
            .filter(|line| !line.starts_with("Preview docs:"))
            .collect::<Vec<_>>()
            .join("\n");
        let report = report.trim_end().to_owned();
        if status {
            let summary = report
                .lines()
                .find_map(|line| line.strip_prefix("Operations: "))
                .map(|changes| format!("optic {}: {changes}", self.version));
            Ok(Comparison::Compatible { summary })
        } else if report.contains(BREAKING_MARK) {
            Ok(Comparison::Breaking { report })
        } else {
            Err(Broken(format!(
                "optic {} could not compare {} with {}:\n{report}",
                self.version,
                shown(new),
                shown(old)
            )))
        }
    }

    /// Runs Optic, its output (stdout and stderr) into `out`, bounded by `TOOL_TIMEOUT`; whether
    /// it exited 0, and its output.
    fn run(
        &self,
        old: &Path,
        new: &Path,
        out: &tempfile::NamedTempFile,
    ) -> Result<(bool, String), Broken> {
        let sink = |file: &File| {
            file.try_clone()
                .map(Stdio::from)
                .map_err(|error| format!("cannot write a temporary file: {error}"))
        };
        // Relative to the root (its working folder) where they are inside it: Optic names them.
        let arg = |path: &Path| path.strip_prefix(root()).unwrap_or(path).to_path_buf();
        let mut child = Command::new(&self.bin)
            .arg("diff")
            .arg(arg(old))
            .arg(arg(new))
            .arg("--check")
            .arg("--standard")
            .arg(&self.standard)
            .current_dir(root())
            // No telemetry, update check or colour codes; nothing but the two local files.
            .env("OPTIC_TELEMETRY_LEVEL", "off")
            // Under `CI`, Optic writes `ci-run-details.json` into its working folder.
            .env_remove("CI")
            .env("NO_UPDATE_NOTIFIER", "1")
            .env("NO_COLOR", "1")
            .env("FORCE_COLOR", "0")
            .stdin(Stdio::null())
            .stdout(sink(out.as_file())?)
            .stderr(sink(out.as_file())?)
            .spawn()
            .map_err(|error| format!("cannot run {}: {error}", shown(&self.bin)))?;
        let deadline = Instant::now() + TOOL_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Broken(format!(
                        "optic did not finish within {} s",
                        TOOL_TIMEOUT.as_secs()
                    )));
                }
                Err(error) => return Err(Broken(format!("cannot wait for optic: {error}"))),
            }
        };
        let output = std::fs::read_to_string(out.path())
            .map_err(|error| format!("cannot read optic's output: {error}"))?;
        Ok((status.success(), output))
    }
}

// ---------------------------------------------------------------------------------------------
// The self-test.

/// What a case expects of the gate.
enum Expect {
    /// No breaking change.
    Passes,
    /// A breaking change whose report names each of these.
    Fails(&'static [&'static str]),
}

/// One case: the released document, the new one, and what the gate must say.
struct Case {
    name: &'static str,
    file: &'static str,
    old: Value,
    new: Value,
    expect: Expect,
}

/// `value[path…]`, an object or array member, mutably; an error naming the path when missing.
fn at<'v>(value: &'v mut Value, path: &[&str]) -> Result<&'v mut Value, String> {
    let mut here = value;
    for (depth, key) in path.iter().enumerate() {
        here = here.get_mut(*key).ok_or_else(|| {
            format!(
                "openapi.yaml has no {}: update the self-test (xtask/src/breaking.rs)",
                path[..=depth].join(".")
            )
        })?;
    }
    Ok(here)
}

/// The cases, built from `openapi.yaml`.
fn cases(spec: &Value) -> Result<Vec<Case>, String> {
    const CONTACT: &[&str] = &["components", "schemas", "Contact"];
    const NEW_PERSON: &[&str] = &["components", "schemas", "NewPerson"];
    const GET_CONTACT: &[&str] = &["paths", "/api/2.0/crm/contact/{contactid}", "get"];

    let mut cases = vec![Case {
        name: "openapi.yaml against itself passes",
        file: "unchanged.json",
        old: spec.clone(),
        new: spec.clone(),
        expect: Expect::Passes,
    }];

    let mut new = spec.clone();
    let contact = at(&mut new, CONTACT)?;
    at(contact, &["properties"])?
        .as_object_mut()
        .and_then(|properties| properties.remove("DisplayName"))
        .ok_or("openapi.yaml's Contact has no property DisplayName")?;
    if let Some(required) = contact.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|name| name != "DisplayName");
    }
    cases.push(Case {
        name: "removing the response property Contact.DisplayName fails",
        file: "removed-response-property.json",
        old: spec.clone(),
        new,
        expect: Expect::Fails(&["DisplayName", "remove response property"]),
    });

    let mut new = spec.clone();
    let person = at(&mut new, NEW_PERSON)?;
    if person["required"]
        .as_array()
        .is_some_and(|r| r.contains(&json!("LastName")))
    {
        return Err("openapi.yaml's NewPerson already requires LastName".into());
    }
    at(person, &["properties", "LastName"])?;
    match person.get_mut("required").and_then(Value::as_array_mut) {
        Some(required) => required.push(json!("LastName")),
        None => person["required"] = json!(["LastName"]),
    }
    cases.push(Case {
        name: "making the optional request property NewPerson.LastName required fails",
        file: "required-request-property.json",
        old: spec.clone(),
        new,
        expect: Expect::Fails(&["LastName", "request property required"]),
    });

    // No operation has an optional parameter today: the released side gets one, the new side
    // requires it.
    let probe = |required: bool| {
        json!({
            "name": "probe",
            "in": "query",
            "description": "An optional query parameter made by the self-test.",
            "required": required,
            "schema": { "type": "string" },
        })
    };
    let mut old = spec.clone();
    let mut new = spec.clone();
    for (document, required) in [(&mut old, false), (&mut new, true)] {
        let operation = at(document, GET_CONTACT)?;
        match operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
        {
            Some(parameters) => parameters.push(probe(required)),
            None => operation["parameters"] = json!([probe(required)]),
        }
    }
    cases.push(Case {
        name: "making the optional query parameter probe of GET /contact/{contactid} required fails",
        file: "required-query-parameter.json",
        old,
        new,
        expect: Expect::Fails(&["probe", "required"]),
    });

    let mut new = spec.clone();
    let paths = at(&mut new, &["paths"])?
        .as_object_mut()
        .ok_or("openapi.yaml's paths is not a map")?;
    paths.insert(
        "/api/2.0/crm/selftest/probe".into(),
        json!({ "get": {
            "tags": ["Contacts"],
            "summary": "An endpoint added by the self-test",
            "operationId": "selftest_probe",
            "responses": { "200": {
                "description": "OK",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Contact" } } },
            } },
        } }),
    );
    cases.push(Case {
        name: "adding an endpoint passes",
        file: "added-endpoint.json",
        old: spec.clone(),
        new,
        expect: Expect::Passes,
    });

    let mut new = spec.clone();
    at(&mut new, CONTACT)?
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .ok_or("openapi.yaml's Contact has no properties")?
        .insert(
            "SelfTestProbe".into(),
            json!({ "type": "string", "nullable": true, "description": "Added by the self-test." }),
        );
    cases.push(Case {
        name: "adding the optional response property Contact.SelfTestProbe passes",
        file: "added-response-property.json",
        old: spec.clone(),
        new,
        expect: Expect::Passes,
    });
    Ok(cases)
}

/// Each breaking change of an Optic report on one line, with the path to it: Optic writes a
/// tree (operation, request or response, body, property) with each finding indented below the
/// change it is about, e.g. `POST /api/2.0/crm/contact/person › request › body application/json
/// › property /schema/properties/LastName: changed › [prevent changing request property to
/// required] cannot make a request property required. This is a breaking change.`
fn findings(report: &str) -> Vec<String> {
    let indent = |line: &str| line.len() - line.trim_start().len();
    let tidy = |line: &str| {
        let line = line.trim();
        let line = line
            .strip_prefix("x ")
            .or_else(|| line.strip_prefix("- "))
            .unwrap_or(line);
        line.strip_suffix(':').unwrap_or(line).trim().to_owned()
    };
    let lines: Vec<&str> = report.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut findings = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if !line.contains(BREAKING_MARK) {
            continue;
        }
        let mut path = vec![tidy(line)];
        let mut depth = indent(line);
        for above in lines[..index].iter().rev() {
            if depth == 0 {
                break;
            }
            if indent(above) < depth {
                depth = indent(above);
                path.push(tidy(above));
            }
        }
        path.reverse();
        findings.push(path.join(" › "));
    }
    findings
}

/// The outcome of one case: whether it went as expected, and what to print.
fn judge(case: &Case, outcome: Result<Comparison, Broken>) -> (bool, String) {
    let mut text = String::new();
    let ok = match (&case.expect, outcome) {
        (Expect::Passes, Ok(Comparison::Compatible { summary })) => {
            let _ = write!(
                text,
                "  the gate passed: {}",
                summary.as_deref().unwrap_or("no breaking change")
            );
            true
        }
        (Expect::Fails(names), Ok(Comparison::Breaking { report })) => {
            let findings = findings(&report);
            let missing: Vec<&&str> = names
                .iter()
                .filter(|name| !findings.iter().any(|line| line.contains(**name)))
                .collect();
            let _ = writeln!(text, "  the gate failed; optic says:");
            for line in &findings {
                let _ = writeln!(text, "    {line}");
            }
            if missing.is_empty() && !findings.is_empty() {
                true
            } else {
                let _ = write!(
                    text,
                    "  but no finding names {missing:?}; the whole report:\n{report}"
                );
                false
            }
        }
        (Expect::Passes, Ok(Comparison::Breaking { report })) => {
            let _ = write!(text, "  the gate failed, but should pass:\n{report}");
            false
        }
        (Expect::Fails(_), Ok(Comparison::Compatible { summary })) => {
            let _ = write!(
                text,
                "  the gate passed, but should fail ({})",
                summary.as_deref().unwrap_or("no summary")
            );
            false
        }
        (_, Err(Broken(message))) => {
            let _ = write!(text, "  error: {message}");
            false
        }
    };
    (ok, text.trim_end().to_owned())
}

/// `cargo xtask openapi --breaking-selftest`: each case on temporary files, all at once.
pub fn selftest() -> ExitCode {
    let started = Instant::now();
    let prepared = (|| {
        let tool = Optic::installed()?;
        let spec = read_document(&crm_server::openapi::committed_path())?;
        let cases = cases(&spec)?;
        let dir = tempfile::tempdir()
            .map_err(|error| format!("cannot create a temporary folder: {error}"))?;
        let mut files = Vec::new();
        for case in &cases {
            let old = dir.path().join(format!("released-{}", case.file));
            let new = dir.path().join(case.file);
            for (path, document) in [(&old, &case.old), (&new, &case.new)] {
                let text = serde_json::to_string_pretty(document)
                    .map_err(|error| format!("cannot write JSON: {error}"))?;
                std::fs::write(path, text)
                    .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
            }
            files.push((old, new));
        }
        Ok::<_, Broken>((tool, cases, files, dir))
    })();
    let (tool, cases, files, _dir) = match prepared {
        Ok(prepared) => prepared,
        Err(Broken(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(BROKEN);
        }
    };
    println!(
        "the breaking-change gate (optic {}) on {} copies of openapi.yaml:",
        tool.version,
        cases.len()
    );
    let outcomes: Vec<Result<Comparison, Broken>> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .iter()
            .map(|(old, new)| scope.spawn(|| tool.compare(old, new)))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(Broken("the comparison panicked".into())))
            })
            .collect()
    });
    let (mut passed, mut failed) = (0, 0);
    for (case, outcome) in cases.iter().zip(outcomes) {
        let (ok, text) = judge(case, outcome);
        println!("{} {}\n{text}", if ok { "ok  " } else { "FAIL" }, case.name);
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!(
        "({:.1} s)\nself-test: {passed} passed, {failed} failed",
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(BREAKING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_finding_is_one_line_with_its_path() {
        let report = "\
x CRM contacts API docs/api/openapi-2.0.0.yaml
Operations: 1 operation changed
x  Checks: 2/3 passed 

x POST /api/2.0/crm/contact/person: 
  - request: 
    - body application/json: 
      - property /schema/properties/LastName: changed
      
        x [prevent changing request property to required] cannot make a request property required. This is a breaking change.
        at new.json:2816:77408
        
x GET /api/2.0/crm/contact/{contactid}: 
  - query parameter probe: 
    - /required changed
    
    x [prevent requiring existing query parameters] cannot make optional query parameter 'probe' required. This is a breaking change.
    at new.json:996:28892
";
        assert_eq!(
            findings(report),
            [
                "POST /api/2.0/crm/contact/person › request › body application/json › property \
                 /schema/properties/LastName: changed › [prevent changing request property to \
                 required] cannot make a request property required. This is a breaking change.",
                "GET /api/2.0/crm/contact/{contactid} › query parameter probe › [prevent \
                 requiring existing query parameters] cannot make optional query parameter \
                 'probe' required. This is a breaking change.",
            ]
        );
    }
}
