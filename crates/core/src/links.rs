//! `incidentdesk://` links: `incidentdesk://<tenant>/incident/<id>` opens an incident of the
//! tenant's profile, from a ticket, a chat message or an email. The tenant (its domain or ID)
//! rather than a profile name, so a link works for every analyst with a profile for that tenant.

use url::Url;

pub const SCHEME: &str = "incidentdesk";

/// The link to incident `id` of `tenant` (a domain or a tenant ID); `None` when either could
/// not be read back from a link (then there is nothing to copy).
pub fn incident_link(tenant: &str, id: &str) -> Option<String> {
    let tenant = tenant.to_ascii_lowercase();
    let host_ok = !tenant.is_empty()
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let link = format!("{SCHEME}://{tenant}/incident/{id}");
    (host_ok && parse(&link).is_some()).then_some(link)
}

/// What a link asks to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentLink {
    pub tenant: String,
    pub id: String,
}

/// Reads an `incidentdesk://<tenant>/incident/<id>` link; anything else is `None`.
pub fn parse(link: &str) -> Option<IncidentLink> {
    let url = Url::parse(link.trim()).ok()?;
    if url.scheme() != SCHEME || url.query().is_some() || url.fragment().is_some() {
        return None;
    }
    let tenant = url.host_str()?.to_ascii_lowercase();
    let mut parts = url.path_segments()?.filter(|s| !s.is_empty());
    let (Some("incident"), Some(id), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    // Incident IDs are numbers (Graph and Defender XDR alike).
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(IncidentLink {
        tenant,
        id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_round_trips_and_names_the_tenant_not_a_profile() {
        let link = incident_link("Contoso.onMicrosoft.com", "1234").unwrap();
        assert_eq!(link, "incidentdesk://contoso.onmicrosoft.com/incident/1234");
        assert_eq!(
            parse(&link),
            Some(IncidentLink {
                tenant: "contoso.onmicrosoft.com".into(),
                id: "1234".into()
            })
        );
        let guid = incident_link("8f1c2c6e-0000-4a8b-9c1d-1234567890ab", "7").unwrap();
        assert_eq!(parse(&guid).unwrap().id, "7");
        assert_eq!(incident_link("contoso/evil", "7"), None);
        assert_eq!(incident_link("contoso", "7?x"), None);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "https://contoso.onmicrosoft.com/incident/1",
            "incidentdesk://contoso/incident/",
            "incidentdesk://contoso/incident/12/alerts",
            "incidentdesk://contoso/alert/12",
            "incidentdesk://contoso/incident/12?run=calc",
            "incidentdesk://contoso/incident/1%2F2",
            "incidentdesk://contoso/incident/<script>",
            "incidentdesk:///incident/12",
            "not a link",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
