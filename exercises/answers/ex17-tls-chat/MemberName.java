import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/// Chapter 17, exercise 3: with mutual TLS, a member's name is in its certificate, which the
/// server checked during the handshake. Nobody can claim another's name without that member's
/// private key.
///
/// Check it: `./jbang labs/Grade.java ex17`.
class MemberName {

    /// The name of the member at the other end of a finished handshake: the common name (CN) of
    /// the subject of its certificate, wherever CN stands in the subject (`CN=bob, OU=Chat` and
    /// `OU=Chat, CN=bob` are both bob). Throws SSLPeerUnverifiedException when the member showed
    /// no certificate.
    static String nameOf(SSLSession session) throws SSLPeerUnverifiedException {
        // The subject, checked by the handshake: split it into its parts and keep the CN.
        String subject = session.getPeerPrincipal().getName();
        try {
            return new LdapName(subject).getRdns().stream()
                    .filter(part -> part.getType().equalsIgnoreCase("CN"))
                    .map(part -> part.getValue().toString())
                    .findFirst()
                    .orElseThrow(() -> new SSLPeerUnverifiedException("a certificate without a CN: " + subject));
        } catch (InvalidNameException e) {
            throw new SSLPeerUnverifiedException("a subject that is not a name: " + subject);
        }
    }
}
