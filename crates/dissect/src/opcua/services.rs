//! OPC UA services (OPC 10000-4 §5, encoded as OPC 10000-6 §5.2 says): which
//! service a message is, from the encoding NodeId that starts its body; what
//! the service does to the server (its [`OperationClass`]); and the fields of
//! the requests and responses that otposture reports.
//!
//! Owns: the request and response headers; OpenSecureChannel (request type,
//! MessageSecurityMode); GetEndpoints and FindServers answers
//! (ApplicationDescription, EndpointDescription, UserTokenPolicy);
//! CreateSession (client description, endpoint URL, session name);
//! ActivateSession (the user identity token: type, policy id, user name and
//! whether the password is encrypted — never the password); Read (the nodes
//! read, and values that pair with them); Write (nodes, attributes, value
//! types and short scalar values); Call (object and method ids); the node
//! management services (node ids); and per-item result codes.
//!
//! Service names come from the generated table ([`super::names`], tshark's
//! value strings); the classification below is otposture's. Not here: the
//! contents of subscriptions and notifications, browse results, history data,
//! queries.

use super::encoding::{self, Decoder, ExtensionObject, NodeId, Result, Scalar};
use super::names;
use otposture_model::OperationClass;
use std::borrow::Cow;

/// Binary encoding ids (namespace 0) that the dissector treats specially;
/// each agrees with OPC Foundation UA-Nodeset Schema/NodeIds.csv
/// (commit a2d4ae8b, `<Name>_Encoding_DefaultBinary`) and, for services, with
/// the generated table (checked by a test).
pub mod ids {
    /// ServiceFault: a request failed as a whole.
    pub const SERVICE_FAULT: u32 = 397;
    /// FindServersResponse.
    pub const FIND_SERVERS_RESPONSE: u32 = 425;
    /// GetEndpointsResponse.
    pub const GET_ENDPOINTS_RESPONSE: u32 = 431;
    /// OpenSecureChannelRequest.
    pub const OPEN_SECURE_CHANNEL_REQUEST: u32 = 446;
    /// CreateSessionRequest.
    pub const CREATE_SESSION_REQUEST: u32 = 461;
    /// CreateSessionResponse.
    pub const CREATE_SESSION_RESPONSE: u32 = 464;
    /// ActivateSessionRequest.
    pub const ACTIVATE_SESSION_REQUEST: u32 = 467;
    /// AddNodesRequest.
    pub const ADD_NODES_REQUEST: u32 = 488;
    /// AddNodesResponse.
    pub const ADD_NODES_RESPONSE: u32 = 491;
    /// AddReferencesRequest.
    pub const ADD_REFERENCES_REQUEST: u32 = 494;
    /// DeleteNodesRequest.
    pub const DELETE_NODES_REQUEST: u32 = 500;
    /// DeleteReferencesRequest.
    pub const DELETE_REFERENCES_REQUEST: u32 = 506;
    /// ReadRequest.
    pub const READ_REQUEST: u32 = 631;
    /// ReadResponse.
    pub const READ_RESPONSE: u32 = 634;
    /// WriteRequest.
    pub const WRITE_REQUEST: u32 = 673;
    /// WriteResponse.
    pub const WRITE_RESPONSE: u32 = 676;
    /// HistoryUpdateRequest.
    pub const HISTORY_UPDATE_REQUEST: u32 = 700;
    /// HistoryUpdateResponse.
    pub const HISTORY_UPDATE_RESPONSE: u32 = 703;
    /// CallRequest.
    pub const CALL_REQUEST: u32 = 712;
    /// CallResponse.
    pub const CALL_RESPONSE: u32 = 715;
    /// AnonymousIdentityToken (binary encoding).
    pub const ANONYMOUS_IDENTITY_TOKEN: u32 = 321;
    /// UserNameIdentityToken (binary encoding).
    pub const USER_NAME_IDENTITY_TOKEN: u32 = 324;
    /// X509IdentityToken (binary encoding).
    pub const X509_IDENTITY_TOKEN: u32 = 327;
    /// IssuedIdentityToken (binary encoding).
    pub const ISSUED_IDENTITY_TOKEN: u32 = 940;
    /// BuildInfo (binary encoding).
    pub const BUILD_INFO: u32 = 340;
    /// ServerStatusDataType (binary encoding).
    pub const SERVER_STATUS: u32 = 864;
}

/// Variable nodes (namespace 0) whose values name the server's software
/// (NodeIds.csv: `Server_ServerStatus` and its `BuildInfo` children).
pub mod nodes {
    /// Server.ServerStatus (ServerStatusDataType).
    pub const SERVER_STATUS: u32 = 2256;
    /// Server.ServerStatus.BuildInfo (BuildInfo).
    pub const BUILD_INFO: u32 = 2260;
    /// Server.ServerStatus.BuildInfo.ProductName.
    pub const PRODUCT_NAME: u32 = 2261;
    /// Server.ServerStatus.BuildInfo.ProductUri.
    pub const PRODUCT_URI: u32 = 2262;
    /// Server.ServerStatus.BuildInfo.ManufacturerName.
    pub const MANUFACTURER_NAME: u32 = 2263;
    /// Server.ServerStatus.BuildInfo.SoftwareVersion.
    pub const SOFTWARE_VERSION: u32 = 2264;
    /// Server.ServerStatus.BuildInfo.BuildNumber.
    pub const BUILD_NUMBER: u32 = 2265;
}

/// The Value attribute (OPC 10000-6 Annex A.1: AttributeId 13).
pub const ATTRIBUTE_VALUE: u32 = 13;

/// Items summarised per message (node ids, values); the rest are counted.
pub const MAX_ITEMS: usize = encoding::MAX_ITEMS;
/// Longest text value copied into an attribute.
pub const MAX_TEXT: usize = 255;
/// Longest written value copied into an attribute ("values if short").
pub const MAX_VALUE: usize = 64;
/// Endpoints or servers decoded per answer.
pub const MAX_ENDPOINTS: usize = 32;

/// A service message's binary encoding id: the numeric identifier of a
/// namespace 0 NodeId; other NodeIds are [`ServiceId::NON_STANDARD`]. Open:
/// ids no table names are reported by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServiceId(pub u32);

/// What a service message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A `...Request`.
    Request,
    /// A `...Response`.
    Response,
    /// A ServiceFault: the answer to a failed request of any service.
    Fault,
    /// An id no table names.
    Unknown,
}

impl ServiceId {
    /// Stands for an encoding NodeId outside namespace 0 or not numeric.
    pub const NON_STANDARD: ServiceId = ServiceId(u32::MAX);

    /// The id of an encoding NodeId.
    pub fn of(node: &NodeId<'_>) -> ServiceId {
        node.ns0_numeric().map_or(ServiceId::NON_STANDARD, ServiceId)
    }

    /// The type name (`ReadRequest`), when known.
    pub fn type_name(self) -> Option<&'static str> {
        names::service(self.0).map(|(n, _)| n)
    }

    /// Request, response, fault or unknown.
    pub fn kind(self) -> Kind {
        match names::service(self.0) {
            None => Kind::Unknown,
            Some(_) if self.0 == ids::SERVICE_FAULT => Kind::Fault,
            Some((n, _)) if n.ends_with("Request") => Kind::Request,
            Some((n, _)) if n.ends_with("Response") => Kind::Response,
            Some(_) => Kind::Unknown,
        }
    }

    /// The operation name shared by a request and its response (`read`,
    /// `activate_session`), or `unknown_service_N`.
    pub fn operation(self) -> Cow<'static, str> {
        match names::service(self.0) {
            Some((_, op)) => Cow::Borrowed(op),
            None if self == ServiceId::NON_STANDARD => Cow::Borrowed("unknown_service"),
            // Formatted each time, not interned: OPC UA peers rarely send
            // unnamed ids, and interning leaks by design.
            None => Cow::Owned(format!("unknown_service_{}", self.0)),
        }
    }

    /// The operation name of a ServiceFault answering this request
    /// (`write_fault`), or `service_fault` for an unnamed one.
    pub fn fault_operation(self) -> &'static str {
        names::fault(self.0).unwrap_or("service_fault")
    }

    /// What the service does to the server.
    pub fn class(self) -> OperationClass {
        match names::service(self.0) {
            Some((_, op)) => class_of(op),
            None => OperationClass::Unknown,
        }
    }
}

/// The class of an operation name from the generated table.
///
/// Reads: Read, HistoryRead, and the subscription and monitored-item services
/// (they set up and deliver reads). Writes: Write, HistoryUpdate, and Call: a
/// method can do anything to the process, and OPC 10000-4 §5.11 gives the
/// client no way to say it only reads, so a call counts as a write.
/// Configuration: the NodeManagement services (§5.7) change the address
/// space, RegisterServer(2) a discovery server's registrations. Discovery:
/// GetEndpoints, FindServers(OnNetwork), Browse, BrowseNext,
/// TranslateBrowsePaths, (Un)RegisterNodes, Query. Session: secure channel and
/// session setup and teardown, Cancel. Authentication: ActivateSession, which
/// carries the user identity token. Diagnostic: the TestStack services.
fn class_of(op: &str) -> OperationClass {
    match op {
        "read"
        | "history_read"
        | "create_subscription"
        | "modify_subscription"
        | "set_publishing_mode"
        | "publish"
        | "republish"
        | "transfer_subscriptions"
        | "delete_subscriptions"
        | "create_monitored_items"
        | "modify_monitored_items"
        | "set_monitoring_mode"
        | "set_triggering"
        | "delete_monitored_items" => OperationClass::Read,
        "write" | "history_update" | "call" => OperationClass::Write,
        "add_nodes" | "add_references" | "delete_nodes" | "delete_references" | "register_server"
        | "register_server2" => OperationClass::Configuration,
        "get_endpoints"
        | "find_servers"
        | "find_servers_on_network"
        | "browse"
        | "browse_next"
        | "translate_browse_paths_to_node_ids"
        | "register_nodes"
        | "unregister_nodes"
        | "query_first"
        | "query_next" => OperationClass::Discovery,
        "open_secure_channel" | "close_secure_channel" | "create_session" | "close_session" | "cancel" => {
            OperationClass::Session
        }
        "activate_session" => OperationClass::Authentication,
        "test_stack" | "test_stack_ex" => OperationClass::Diagnostic,
        _ => OperationClass::Unknown,
    }
}

/// The start of a body: the service's encoding NodeId.
pub fn encoding_id<'a>(d: &mut Decoder<'a>) -> Result<NodeId<'a>> {
    d.node_id()
}

/// The parts of a RequestHeader (§7.28 of OPC 10000-4) that pairing uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHeader {
    /// RequestHandle: echoed in the response.
    pub handle: u32,
}

/// Reads a RequestHeader.
pub fn request_header(d: &mut Decoder<'_>) -> Result<RequestHeader> {
    d.node_id()?; // AuthenticationToken: a secret of the session, not kept
    d.date_time()?; // Timestamp
    let handle = d.u32()?; // RequestHandle
    d.u32()?; // ReturnDiagnostics
    d.string()?; // AuditEntryId
    d.u32()?; // TimeoutHint
    d.extension_object()?; // AdditionalHeader
    Ok(RequestHeader { handle })
}

/// The parts of a ResponseHeader (§7.29 of OPC 10000-4) that pairing uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHeader {
    /// RequestHandle of the request answered.
    pub handle: u32,
    /// ServiceResult.
    pub service_result: u32,
}

/// Reads a ResponseHeader.
pub fn response_header(d: &mut Decoder<'_>) -> Result<ResponseHeader> {
    d.date_time()?; // Timestamp
    let handle = d.u32()?;
    let service_result = d.status_code()?;
    d.skip_diagnostic_info()?; // ServiceDiagnostics
    d.skip_strings()?; // StringTable
    d.extension_object()?; // AdditionalHeader
    Ok(ResponseHeader { handle, service_result })
}

/// MessageSecurityMode (OPC 10000-4 §7.20). Open: other values are reported
/// by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecurityMode(pub i32);

impl SecurityMode {
    /// Invalid (0): never valid on the wire.
    pub const INVALID: SecurityMode = SecurityMode(0);
    /// None: no security.
    pub const NONE: SecurityMode = SecurityMode(1);
    /// Sign: messages signed, not encrypted.
    pub const SIGN: SecurityMode = SecurityMode(2);
    /// SignAndEncrypt.
    pub const SIGN_AND_ENCRYPT: SecurityMode = SecurityMode(3);

    /// The mode's snake_case name, or `mode_N`.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Self::INVALID => "invalid",
            Self::NONE => "none",
            Self::SIGN => "sign",
            Self::SIGN_AND_ENCRYPT => "sign_and_encrypt",
            SecurityMode(n) => return Cow::Owned(format!("mode_{n}")),
        })
    }
}

/// The fields of an OpenSecureChannelRequest that are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenSecureChannel {
    /// RequestType: 0 Issue, 1 Renew.
    pub request_type: i32,
    /// SecurityMode.
    pub mode: SecurityMode,
}

/// Reads an OpenSecureChannelRequest after its RequestHeader.
pub fn open_secure_channel_request(d: &mut Decoder<'_>) -> Result<OpenSecureChannel> {
    d.u32()?; // ClientProtocolVersion
    let request_type = d.i32()?;
    let mode = SecurityMode(d.i32()?);
    Ok(OpenSecureChannel { request_type, mode })
}

/// An ApplicationDescription (OPC 10000-4 §7.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Application<'a> {
    /// ApplicationUri: the application instance's globally unique id.
    pub application_uri: Option<&'a [u8]>,
    /// ProductUri: the product's globally unique id.
    pub product_uri: Option<&'a [u8]>,
    /// ApplicationName's text.
    pub name: Option<&'a [u8]>,
    /// ApplicationType: 0 Server, 1 Client, 2 ClientAndServer, 3 DiscoveryServer.
    pub application_type: i32,
}

/// The name of an ApplicationType.
pub fn application_type_name(t: i32) -> Cow<'static, str> {
    Cow::Borrowed(match t {
        0 => "server",
        1 => "client",
        2 => "client_and_server",
        3 => "discovery_server",
        n => return Cow::Owned(format!("type_{n}")),
    })
}

/// Reads an ApplicationDescription.
pub fn application<'a>(d: &mut Decoder<'a>) -> Result<Application<'a>> {
    let application_uri = d.string()?;
    let product_uri = d.string()?;
    let name = d.localized_text()?.text;
    let application_type = d.i32()?;
    d.string()?; // GatewayServerUri
    d.string()?; // DiscoveryProfileUri
    d.skip_strings()?; // DiscoveryUrls
    Ok(Application { application_uri, product_uri, name, application_type })
}

/// UserTokenType (OPC 10000-4 §7.42) as bits of a set: anonymous 1,
/// username 2, certificate 4, issued 8, other 16.
pub fn token_type_bit(t: i32) -> u8 {
    match t {
        0 => 1,
        1 => 2,
        2 => 4,
        3 => 8,
        _ => 16,
    }
}

/// Names of a set of token type bits, in bit order, joined by `,`.
pub fn token_types_text(bits: u8) -> String {
    let names = ["anonymous", "username", "certificate", "issued", "other"];
    let on: Vec<&str> = names.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, n)| *n).collect();
    on.join(",")
}

/// An EndpointDescription (OPC 10000-4 §7.14), without the certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint<'a> {
    /// EndpointUrl.
    pub url: Option<&'a [u8]>,
    /// The server it belongs to.
    pub server: Application<'a>,
    /// SecurityMode.
    pub mode: SecurityMode,
    /// SecurityPolicyUri.
    pub policy_uri: Option<&'a [u8]>,
    /// The user token types it accepts ([`token_type_bit`]).
    pub token_types: u8,
    /// SecurityLevel: the server's own ranking of the endpoint.
    pub security_level: u8,
}

/// Reads an EndpointDescription.
pub fn endpoint<'a>(d: &mut Decoder<'a>) -> Result<Endpoint<'a>> {
    let url = d.string()?;
    let server = application(d)?;
    d.byte_string()?; // ServerCertificate: not kept
    let mode = SecurityMode(d.i32()?);
    let policy_uri = d.string()?;
    let mut token_types = 0;
    for _ in 0..d.array_len(17)? {
        d.string()?; // PolicyId
        token_types |= token_type_bit(d.i32()?);
        d.string()?; // IssuedTokenType
        d.string()?; // IssuerEndpointUrl
        d.string()?; // SecurityPolicyUri
    }
    d.string()?; // TransportProfileUri
    let security_level = d.u8()?;
    Ok(Endpoint { url, server, mode, policy_uri, token_types, security_level })
}

/// Reads an array of EndpointDescription, keeping the first [`MAX_ENDPOINTS`].
pub fn endpoints<'a>(d: &mut Decoder<'a>) -> Result<Vec<Endpoint<'a>>> {
    let n = d.array_len(30)?;
    let mut out = Vec::with_capacity(n.min(MAX_ENDPOINTS));
    for _ in 0..n {
        let e = endpoint(d)?;
        if out.len() < MAX_ENDPOINTS {
            out.push(e);
        }
    }
    Ok(out)
}

/// Reads a FindServersResponse's servers after the header.
pub fn servers<'a>(d: &mut Decoder<'a>) -> Result<Vec<Application<'a>>> {
    let n = d.array_len(25)?;
    let mut out = Vec::with_capacity(n.min(MAX_ENDPOINTS));
    for _ in 0..n {
        let a = application(d)?;
        if out.len() < MAX_ENDPOINTS {
            out.push(a);
        }
    }
    Ok(out)
}

/// The fields of a CreateSessionRequest that are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreateSession<'a> {
    /// The client application.
    pub client: Application<'a>,
    /// EndpointUrl the client asked for.
    pub endpoint_url: Option<&'a [u8]>,
    /// SessionName.
    pub session_name: Option<&'a [u8]>,
}

/// Reads a CreateSessionRequest after its RequestHeader.
pub fn create_session_request<'a>(d: &mut Decoder<'a>) -> Result<CreateSession<'a>> {
    let client = application(d)?;
    d.string()?; // ServerUri
    let endpoint_url = d.string()?;
    let session_name = d.string()?;
    Ok(CreateSession { client, endpoint_url, session_name })
}

/// Reads a CreateSessionResponse up to its ServerEndpoints.
pub fn create_session_response<'a>(d: &mut Decoder<'a>) -> Result<Vec<Endpoint<'a>>> {
    d.node_id()?; // SessionId
    d.node_id()?; // AuthenticationToken: a secret, not kept
    d.f64()?; // RevisedSessionTimeout
    d.byte_string()?; // ServerNonce
    d.byte_string()?; // ServerCertificate
    endpoints(d)
}

/// The user identity token of an ActivateSessionRequest (OPC 10000-4 §7.41).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdentityToken<'a> {
    /// The token's encoding id: [`ids::ANONYMOUS_IDENTITY_TOKEN`] and the like.
    pub type_id: Option<u32>,
    /// PolicyId: the server's UserTokenPolicy it follows.
    pub policy_id: Option<&'a [u8]>,
    /// UserName, for a UserNameIdentityToken.
    pub user_name: Option<&'a [u8]>,
    /// Whether the password or token data is encrypted: the
    /// EncryptionAlgorithm is not empty (UserName and Issued tokens).
    pub encrypted: Option<bool>,
}

impl IdentityToken<'_> {
    /// `anonymous`, `username`, `certificate`, `issued`, `none` (no token)
    /// or `unknown`.
    pub fn type_name(&self) -> &'static str {
        match self.type_id {
            Some(ids::ANONYMOUS_IDENTITY_TOKEN) => "anonymous",
            Some(ids::USER_NAME_IDENTITY_TOKEN) => "username",
            Some(ids::X509_IDENTITY_TOKEN) => "certificate",
            Some(ids::ISSUED_IDENTITY_TOKEN) => "issued",
            None => "none",
            Some(_) => "unknown",
        }
    }
}

/// Reads an ActivateSessionRequest after its RequestHeader, up to the user
/// identity token. The password and token data are skipped, never copied.
pub fn activate_session_request<'a>(d: &mut Decoder<'a>) -> Result<IdentityToken<'a>> {
    d.string()?; // ClientSignature.Algorithm
    d.byte_string()?; // ClientSignature.Signature
    for _ in 0..d.array_len(8)? {
        d.byte_string()?; // SignedSoftwareCertificate.CertificateData
        d.byte_string()?; // .Signature
    }
    d.skip_strings()?; // LocaleIds
    let token = d.extension_object()?;
    if token.encoding == 0 && token.type_id.is_null() {
        return Ok(IdentityToken { type_id: None, policy_id: None, user_name: None, encrypted: None });
    }
    let type_id = Some(token.type_id.ns0_numeric().unwrap_or(u32::MAX));
    let mut b = Decoder::new(token.body);
    let mut t = IdentityToken { type_id, policy_id: None, user_name: None, encrypted: None };
    if token.encoding != 1 {
        return Ok(t);
    }
    t.policy_id = b.string()?;
    match token.type_id.ns0_numeric() {
        Some(ids::USER_NAME_IDENTITY_TOKEN) => {
            t.user_name = b.string()?;
            b.byte_string()?; // Password: skipped
            t.encrypted = Some(b.string()?.is_some_and(|a| !a.is_empty()));
        }
        Some(ids::ISSUED_IDENTITY_TOKEN) => {
            b.byte_string()?; // TokenData: skipped
            t.encrypted = Some(b.string()?.is_some_and(|a| !a.is_empty()));
        }
        _ => {}
    }
    Ok(t)
}

/// A node read: its id and attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadTarget<'a> {
    /// NodeId.
    pub node: NodeId<'a>,
    /// AttributeId.
    pub attribute: u32,
}

/// Reads a ReadRequest after its RequestHeader: how many nodes it reads, and
/// calls `each` with every node's position and target.
pub fn read_request<'a>(d: &mut Decoder<'a>, each: &mut dyn FnMut(usize, ReadTarget<'a>)) -> Result<usize> {
    d.f64()?; // MaxAge
    d.i32()?; // TimestampsToReturn
    let n = d.array_len(8)?;
    for i in 0..n {
        let node = d.node_id()?;
        let attribute = d.u32()?;
        d.string()?; // IndexRange
        d.qualified_name()?; // DataEncoding
        each(i, ReadTarget { node, attribute });
    }
    Ok(n)
}

/// Reads a ReadResponse after its header: calls `each` with every result's
/// position and value, until `each` returns false.
pub fn read_response<'a>(
    d: &mut Decoder<'a>,
    each: &mut dyn FnMut(usize, encoding::DataValue<'a>) -> bool,
) -> Result<usize> {
    let n = d.array_len(1)?;
    for i in 0..n {
        if !each(i, d.data_value()?) {
            break;
        }
    }
    Ok(n)
}

/// What a server's BuildInfo says (OPC 10000-5 §12.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildInfo<'a> {
    /// ProductUri.
    pub product_uri: Option<&'a [u8]>,
    /// ManufacturerName.
    pub manufacturer: Option<&'a [u8]>,
    /// ProductName.
    pub product_name: Option<&'a [u8]>,
    /// SoftwareVersion.
    pub software_version: Option<&'a [u8]>,
    /// BuildNumber.
    pub build_number: Option<&'a [u8]>,
}

impl<'a> BuildInfo<'a> {
    /// Fills the fields that `other` has and this one lacks.
    pub fn merge(&mut self, other: BuildInfo<'a>) {
        let fill = |a: &mut Option<&'a [u8]>, b: Option<&'a [u8]>| {
            if a.is_none() {
                *a = b;
            }
        };
        fill(&mut self.product_uri, other.product_uri);
        fill(&mut self.manufacturer, other.manufacturer);
        fill(&mut self.product_name, other.product_name);
        fill(&mut self.software_version, other.software_version);
        fill(&mut self.build_number, other.build_number);
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == BuildInfo::default()
    }
}

/// Reads a BuildInfo structure.
pub fn build_info<'a>(d: &mut Decoder<'a>) -> Result<BuildInfo<'a>> {
    Ok(BuildInfo {
        product_uri: d.string()?,
        manufacturer: d.string()?,
        product_name: d.string()?,
        software_version: d.string()?,
        build_number: d.string()?,
    })
}

/// The BuildInfo inside a BuildInfo or ServerStatusDataType ExtensionObject.
pub fn build_info_of<'a>(e: &ExtensionObject<'a>) -> Option<BuildInfo<'a>> {
    let mut d = Decoder::new(e.body);
    match e.binary_ns0()? {
        ids::BUILD_INFO => build_info(&mut d).ok(),
        ids::SERVER_STATUS => {
            // StartTime, CurrentTime, State, then BuildInfo.
            d.date_time().ok()?;
            d.date_time().ok()?;
            d.i32().ok()?;
            build_info(&mut d).ok()
        }
        _ => None,
    }
}

/// What a node in a Read pairs with, for build information.
pub fn build_info_field(node: &NodeId<'_>, attribute: u32) -> Option<u32> {
    let n = node.ns0_numeric()?;
    (attribute == ATTRIBUTE_VALUE
        && (n == nodes::SERVER_STATUS || (nodes::BUILD_INFO..=nodes::BUILD_NUMBER).contains(&n)))
    .then_some(n)
}

/// Folds the value read from build-information node `node` into `info`.
pub fn fold_build_info<'a>(info: &mut BuildInfo<'a>, node: u32, value: &Scalar<'a>) {
    let text = match value {
        Scalar::String(s) => *s,
        Scalar::LocalizedText(t) => t.text,
        Scalar::ExtensionObject(e) => {
            if let Some(b) = build_info_of(e) {
                info.merge(b);
            }
            return;
        }
        _ => return,
    };
    let field = match node {
        nodes::PRODUCT_NAME => &mut info.product_name,
        nodes::PRODUCT_URI => &mut info.product_uri,
        nodes::MANUFACTURER_NAME => &mut info.manufacturer,
        nodes::SOFTWARE_VERSION => &mut info.software_version,
        nodes::BUILD_NUMBER => &mut info.build_number,
        _ => return,
    };
    *field = text;
}

/// A summary of the items of a request that changes something: how many,
/// and text of the first [`MAX_ITEMS`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Items {
    /// Items in the request.
    pub count: usize,
    /// Node ids (Write: the node written; Call: the method's object;
    /// AddNodes: the parent; the reference and delete services: the source
    /// or node).
    pub nodes: Vec<String>,
    /// Call: the method ids; AddNodes: the browse names.
    pub targets: Vec<String>,
    /// Write: the attribute ids.
    pub attributes: Vec<u32>,
    /// Write: the value's type (`Double`, `Int32[]`); Call: the input
    /// argument types; HistoryUpdate: the details' type ids.
    pub types: Vec<String>,
    /// Write: short scalar values.
    pub values: Vec<String>,
}

/// The type of a Variant, `[]` added for arrays.
fn variant_type(v: &encoding::Variant<'_>) -> String {
    match v.array_len {
        Some(_) => format!("{}[]", v.type_id.name()),
        None => v.type_id.name().to_string(),
    }
}

/// Reads a WriteRequest after its RequestHeader.
pub fn write_request(d: &mut Decoder<'_>) -> Result<Items> {
    let mut it = Items { count: d.array_len(9)?, ..Items::default() };
    for i in 0..it.count {
        let node = d.node_id()?;
        let attribute = d.u32()?;
        d.string()?; // IndexRange
        let value = d.data_value()?;
        if i < MAX_ITEMS {
            it.nodes.push(node.to_string());
            it.attributes.push(attribute);
            let v = value.value;
            it.types.push(v.as_ref().map_or_else(|| "none".to_string(), variant_type));
            let text = v.and_then(|v| v.scalar).and_then(|s| s.text(MAX_VALUE));
            it.values.push(text.unwrap_or_default());
        }
    }
    Ok(it)
}

/// Reads a CallRequest after its RequestHeader.
pub fn call_request(d: &mut Decoder<'_>) -> Result<Items> {
    let mut it = Items { count: d.array_len(5)?, ..Items::default() };
    for i in 0..it.count {
        let object = d.node_id()?;
        let method = d.node_id()?;
        let mut types = Vec::new();
        for _ in 0..d.array_len(1)? {
            let v = d.variant()?;
            if types.len() < MAX_ITEMS {
                types.push(variant_type(&v));
            }
        }
        if i < MAX_ITEMS {
            it.nodes.push(object.to_string());
            it.targets.push(method.to_string());
            it.types.push(types.join(" "));
        }
    }
    Ok(it)
}

/// Reads the items of a node management request (AddNodes, AddReferences,
/// DeleteNodes, DeleteReferences: `service` is its request id) after its
/// RequestHeader.
pub fn node_management_request(d: &mut Decoder<'_>, service: u32) -> Result<Items> {
    let mut it = Items { count: d.array_len(3)?, ..Items::default() };
    for i in 0..it.count {
        let (node, target) = match service {
            ids::ADD_NODES_REQUEST => {
                let parent = d.expanded_node_id()?.node;
                d.node_id()?; // ReferenceTypeId
                d.expanded_node_id()?; // RequestedNewNodeId
                let (_, browse_name) = d.qualified_name()?;
                d.i32()?; // NodeClass
                d.extension_object()?; // NodeAttributes
                d.expanded_node_id()?; // TypeDefinition
                (parent.to_string(), Some(encoding::lossy(browse_name.unwrap_or_default(), MAX_VALUE)))
            }
            ids::ADD_REFERENCES_REQUEST => {
                let source = d.node_id()?;
                d.node_id()?; // ReferenceTypeId
                d.bool()?; // IsForward
                d.string()?; // TargetServerUri
                let target = d.expanded_node_id()?.node;
                d.i32()?; // TargetNodeClass
                (source.to_string(), Some(target.to_string()))
            }
            ids::DELETE_NODES_REQUEST => {
                let node = d.node_id()?;
                d.bool()?; // DeleteTargetReferences
                (node.to_string(), None)
            }
            _ => {
                // DeleteReferences.
                let source = d.node_id()?;
                d.node_id()?; // ReferenceTypeId
                d.bool()?; // IsForward
                let target = d.expanded_node_id()?.node;
                d.bool()?; // DeleteBidirectional
                (source.to_string(), Some(target.to_string()))
            }
        };
        if i < MAX_ITEMS {
            it.nodes.push(node);
            if let Some(t) = target {
                it.targets.push(t);
            }
        }
    }
    Ok(it)
}

/// Reads a HistoryUpdateRequest after its RequestHeader.
pub fn history_update_request(d: &mut Decoder<'_>) -> Result<Items> {
    let mut it = Items { count: d.array_len(3)?, ..Items::default() };
    for i in 0..it.count {
        let e = d.extension_object()?;
        if i < MAX_ITEMS {
            it.types.push(e.type_id.to_string());
        }
    }
    Ok(it)
}

/// Per-item results of a response that answers a change, after its header:
/// how many results, and how many of them are Bad. `service` is the
/// response's id.
pub fn change_results(d: &mut Decoder<'_>, service: u32) -> Result<(usize, usize)> {
    let n = d.array_len(4)?;
    let mut bad = 0;
    for _ in 0..n {
        let status = d.status_code()?;
        bad += usize::from(encoding::is_bad(status));
        match service {
            ids::ADD_NODES_RESPONSE => {
                d.node_id()?; // AddedNodeId
            }
            ids::CALL_RESPONSE => {
                for _ in 0..d.array_len(4)? {
                    d.status_code()?; // InputArgumentResults
                }
                d.skip_diagnostic_infos()?;
                for _ in 0..d.array_len(1)? {
                    d.variant()?; // OutputArguments
                }
            }
            ids::HISTORY_UPDATE_RESPONSE => {
                for _ in 0..d.array_len(4)? {
                    d.status_code()?; // OperationResults
                }
                d.skip_diagnostic_infos()?;
            }
            _ => {}
        }
    }
    Ok((n, bad))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn special_ids_agree_with_the_generated_table() {
        for (id, name) in [
            (ids::SERVICE_FAULT, "ServiceFault"),
            (ids::FIND_SERVERS_RESPONSE, "FindServersResponse"),
            (ids::GET_ENDPOINTS_RESPONSE, "GetEndpointsResponse"),
            (ids::OPEN_SECURE_CHANNEL_REQUEST, "OpenSecureChannelRequest"),
            (ids::CREATE_SESSION_REQUEST, "CreateSessionRequest"),
            (ids::CREATE_SESSION_RESPONSE, "CreateSessionResponse"),
            (ids::ACTIVATE_SESSION_REQUEST, "ActivateSessionRequest"),
            (ids::ADD_NODES_REQUEST, "AddNodesRequest"),
            (ids::ADD_NODES_RESPONSE, "AddNodesResponse"),
            (ids::ADD_REFERENCES_REQUEST, "AddReferencesRequest"),
            (ids::DELETE_NODES_REQUEST, "DeleteNodesRequest"),
            (ids::DELETE_REFERENCES_REQUEST, "DeleteReferencesRequest"),
            (ids::READ_REQUEST, "ReadRequest"),
            (ids::READ_RESPONSE, "ReadResponse"),
            (ids::WRITE_REQUEST, "WriteRequest"),
            (ids::WRITE_RESPONSE, "WriteResponse"),
            (ids::HISTORY_UPDATE_REQUEST, "HistoryUpdateRequest"),
            (ids::HISTORY_UPDATE_RESPONSE, "HistoryUpdateResponse"),
            (ids::CALL_REQUEST, "CallRequest"),
            (ids::CALL_RESPONSE, "CallResponse"),
        ] {
            assert_eq!(ServiceId(id).type_name(), Some(name), "{id}");
        }
    }

    #[test]
    fn every_named_service_has_a_class_and_requests_and_responses_share_it() {
        for id in 0..13_000 {
            let s = ServiceId(id);
            if let Some(name) = s.type_name() {
                if s.kind() != Kind::Fault {
                    assert_ne!(s.class(), OperationClass::Unknown, "{name} has no class");
                }
            }
        }
        assert_eq!(ServiceId(631).operation(), ServiceId(634).operation());
        assert_eq!(ServiceId(ids::CALL_REQUEST).class(), OperationClass::Write);
        assert_eq!(ServiceId(ids::ACTIVATE_SESSION_REQUEST).class(), OperationClass::Authentication);
        assert_eq!(ServiceId(9999).operation(), "unknown_service_9999");
        assert_eq!(ServiceId(9999).class(), OperationClass::Unknown);
        assert_eq!(ServiceId(ids::SERVICE_FAULT).kind(), Kind::Fault);
    }

    #[test]
    fn token_type_sets_read_as_names() {
        assert_eq!(token_types_text(token_type_bit(0) | token_type_bit(1)), "anonymous,username");
        assert_eq!(token_types_text(token_type_bit(7)), "other");
    }
}
