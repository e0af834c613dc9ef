// SunPKCS11 against the module: load the token as a KeyStore, sign with each private key
// entry and verify the signature with the entry's certificate (in software).
// Usage: java P11Sign.java CONFIG PINFILE
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.Collections;

public class P11Sign {
    public static void main(String[] args) throws Exception {
        Provider p = Security.getProvider("SunPKCS11").configure(args[0]);
        Security.addProvider(p);
        char[] pin = Files.readString(Path.of(args[1])).trim().toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS11", p);
        ks.load(null, pin);
        int signed = 0;
        byte[] msg = "pcsc11 e2e java".getBytes();
        for (String alias : Collections.list(ks.aliases())) {
            if (!ks.isKeyEntry(alias)) continue;
            X509Certificate cert = (X509Certificate) ks.getCertificate(alias);
            String subject = cert.getSubjectX500Principal().getName();
            // Only the demo keys (not the YubiKey attestation key F9, which the card
            // uses to attest, not to sign); 9C is always-authenticate, and SunPKCS11
            // does not log in again per signature.
            if (!subject.contains("pcsc11 demo") || subject.contains("Digital Signature")) continue;
            PrivateKey key = (PrivateKey) ks.getKey(alias, null);
            String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
            String name = "SunPKCS11 " + alg + " with " + subject;
            try {
                // SunPKCS11 signs in parts (C_SignUpdate, C_SignFinal) when the token
                // offers the combined hash-and-sign mechanism.
                Signature s = Signature.getInstance(alg, p);
                s.initSign(key);
                s.update(msg);
                byte[] sig = s.sign();
                Signature v = Signature.getInstance(alg);
                v.initVerify(cert.getPublicKey());
                v.update(msg);
                boolean good = v.verify(sig);
                System.out.println((good ? "ok - " : "not ok - ") + name);
                if (good) signed++;
            } catch (Exception e) {
                Throwable c = e.getCause() != null ? e.getCause() : e;
                System.out.println("not ok - " + name + "\n    # " + c);
            }
        }
        // The demo card has the RSA keys 9A and 9D and the P-256 key 9E to sign with.
        System.out.println((signed >= 3 ? "ok - " : "not ok - ") + "SunPKCS11 signed with " + signed + " of 3 keys");
        if (signed < 3) System.exit(1);
    }
}
