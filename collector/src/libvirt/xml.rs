//! What the agent reads from a domain's XML: Nova's `<nova:instance>`
//! metadata block (project, user, flavor, display name) and the disk and
//! interface targets needed when a driver lacks bulk block/net stats.

/// Nova's metadata namespaces, newest first.
pub const NOVA_NAMESPACES: [&str; 2] = [
    "http://openstack.org/xmlns/libvirt/nova/1.1",
    "http://openstack.org/xmlns/libvirt/nova/1.0",
];

/// The attribution Nova writes into a guest's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NovaInstance {
    /// The server's display name (`<nova:name>`).
    pub display_name: Option<String>,
    /// Flavor name (`<nova:flavor name=…>`).
    pub flavor: Option<String>,
    /// Owning project (`<nova:owner><nova:project uuid=…>`).
    pub project_id: Option<String>,
    /// Owning user (`<nova:owner><nova:user uuid=…>`).
    pub user_id: Option<String>,
}

/// Parses the element libvirt returns for `virDomainGetMetadata(ELEMENT,
/// nova-ns)`. Elements are matched by local name, with or without the
/// `nova:` prefix libvirt strips.
pub fn parse_nova(xml: &str) -> Result<NovaInstance, roxmltree::Error> {
    let doc = roxmltree::Document::parse(xml)?;
    let root = doc.root_element();
    let mut out = NovaInstance::default();
    for child in root.children().filter(|n| n.is_element()) {
        match child.tag_name().name() {
            "name" => out.display_name = text(child),
            "flavor" => out.flavor = child.attribute("name").map(str::to_string),
            "owner" => {
                for o in child.children().filter(|n| n.is_element()) {
                    let uuid = o.attribute("uuid").map(str::to_string);
                    match o.tag_name().name() {
                        "project" => out.project_id = uuid,
                        "user" => out.user_id = uuid,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn text(n: roxmltree::Node<'_, '_>) -> Option<String> {
    n.text()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// Disk and interface targets of a domain, as Ceilometer selects them:
/// disks (not CD-ROMs or floppies without media) that have a `<source>`,
/// interfaces that have a `<target dev=…>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    /// Disk target names (`vda`).
    pub disks: Vec<String>,
    /// Interface target names (`tap0`).
    pub interfaces: Vec<String>,
}

/// Parses a domain XML description.
pub fn parse_devices(xml: &str) -> Result<Devices, roxmltree::Error> {
    let doc = roxmltree::Document::parse(xml)?;
    let mut out = Devices::default();
    let Some(devices) = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("devices"))
    else {
        return Ok(out);
    };
    for d in devices.children().filter(|n| n.is_element()) {
        let target = d
            .children()
            .find(|n| n.has_tag_name("target"))
            .and_then(|t| t.attribute("dev"));
        match d.tag_name().name() {
            "disk" => {
                let has_source = d.children().any(|n| n.has_tag_name("source"));
                if let Some(t) = target
                    && has_source
                {
                    out.disks.push(t.to_string());
                }
            }
            "interface" => {
                if let Some(t) = target {
                    out.interfaces.push(t.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nova_metadata_as_libvirt_returns_it() {
        // libvirt strips the prefix but may keep the default namespace.
        let xml = r#"<instance xmlns="http://openstack.org/xmlns/libvirt/nova/1.1">
          <package version="30.0.0"/><name>web-1</name>
          <creationTime>2026-01-01 00:00:00</creationTime>
          <flavor name="m1.small" id="2"><memory>2048</memory><vcpus>1</vcpus></flavor>
          <owner><user uuid="u-42">alice</user><project uuid="p-7">demo</project></owner>
          <root type="image" uuid="img-1"/>
        </instance>"#;
        assert_eq!(
            parse_nova(xml).unwrap(),
            NovaInstance {
                display_name: Some("web-1".into()),
                flavor: Some("m1.small".into()),
                project_id: Some("p-7".into()),
                user_id: Some("u-42".into()),
            }
        );
        // With the prefix, as Nova writes it.
        let prefixed = r#"<nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1"><nova:name>x</nova:name><nova:owner><nova:project uuid="p"/></nova:owner></nova:instance>"#;
        let n = parse_nova(prefixed).unwrap();
        assert_eq!(n.display_name.as_deref(), Some("x"));
        assert_eq!(n.project_id.as_deref(), Some("p"));
        assert_eq!(n.flavor, None);
        assert!(parse_nova("<instance><name>").is_err());
    }

    #[test]
    fn devices_follow_ceilometer_selection() {
        let xml = r#"<domain type='kvm'><name>i</name><devices>
          <disk type='file' device='disk'><source file='/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
          <disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>
          <disk type='network' device='disk'><source protocol='rbd' name='v/x'/><target dev='vdb'/></disk>
          <interface type='bridge'><mac address='fa:16:3e:00:00:01'/><target dev='tap1'/></interface>
          <interface type='user'><mac address='52:54:00:00:00:02'/></interface>
        </devices></domain>"#;
        assert_eq!(
            parse_devices(xml).unwrap(),
            Devices {
                disks: vec!["vda".into(), "vdb".into()],
                interfaces: vec!["tap1".into()],
            }
        );
    }
}
