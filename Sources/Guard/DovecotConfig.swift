import Auth
import Foundation
import Store

/// The secrets Dovecot and the policy endpoint share, kept in the workspace: the API key Dovecot sends
/// (`auth_policy_server_api_header`) and the nonce it hashes passwords with.
public struct PolicySecrets: Sendable, Equatable {
    public var apiKey: String
    public var hashNonce: String
    public static let header = "X-API-Key"

    /// Read from the workspace, made at the first call.
    public static func load(_ db: AppDatabase) throws -> PolicySecrets {
        var key = try db.meta("policy_api_key")
        if key == nil {
            key = Secret.make()
            try db.setMeta("policy_api_key", key!)
        }
        var nonce = try db.meta("policy_hash_nonce")
        if nonce == nil {
            nonce = Secret.make(bytes: 16)
            try db.setMeta("policy_hash_nonce", nonce!)
        }
        return PolicySecrets(apiKey: key!, hashNonce: nonce!)
    }
}

/// What `-dovecot_conf_gen` prints: Dovecot's side of the auth policy, pointed at `-policy_listen`.
public enum DovecotConfig {
    public static func generate(url: String, secrets: PolicySecrets, old: Bool) -> String {
        // Dovecot before 2.3 names the attributes differently and has no session ids.
        let attributes = old
            ? "login=%{orig_username} pwhash=%{hashed_password} remote=%{real_rip} protocol=%s"
            : "login=%{requested_username} pwhash=%{hashed_password} remote=%{rip} device_id=%{client_id} protocol=%s session_id=%{session}"
        return """
        # Control Center (lightmeter): brute-force protection through Dovecot's authentication policy.
        # Put this in /etc/dovecot/conf.d/95-lightmeter.conf and reload Dovecot. Postfix authenticates SMTP
        # clients through Dovecot (smtpd_sasl_type = dovecot), so SMTP AUTH is protected too.
        auth_policy_server_url = \(url)
        auth_policy_server_api_header = \(PolicySecrets.header): \(secrets.apiKey)
        auth_policy_hash_nonce = \(secrets.hashNonce)
        auth_policy_request_attributes = \(attributes)
        auth_policy_check_before_auth = yes
        auth_policy_check_after_auth = yes
        auth_policy_report_after_auth = yes
        # When Control Center does not answer, logins go on as if there were no policy.
        auth_policy_reject_on_fail = no

        """
    }
}
