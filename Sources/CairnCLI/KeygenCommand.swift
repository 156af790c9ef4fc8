import ArgumentParser
import Bus
import Foundation
import NodeKit

/// `cairn keygen`: CURVE certificates for a bus that leaves loopback (docs/DEPLOY.md).
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make CURVE certificates for the bus: NAME.key (secret, mode 0600) and NAME.pub for each service.",
        discussion: """
            Every process that joins a bus beyond loopback needs its own NAME.key and the public \
            certificates (*.pub) of the others; the chain store, mempool and peer bridge admit \
            only clients whose NAME.pub they hold. Give the folder with --bus-keys or CAIRN_BUS_KEYS, \
            or make each file a docker secret (docs/DEPLOY.md). Existing files are kept unless --force.
            """)

    @Option(help: "Folder to write the certificates into (made if missing, mode 0700).")
    var out: String

    @Option(name: .customLong("name"), help: "A certificate to make (repeatable; default: \(ServiceName.onBus.map(\.rawValue).joined(separator: ", "))).")
    var names: [String] = []

    @Flag(help: "Replace certificates that already exist.")
    var force = false

    func validate() throws {
        for n in names where n.isEmpty || !n.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            throw ValidationError("--name \(n): letters, digits, - and _ only")
        }
    }

    func run() throws {
        let fm = FileManager.default
        let folder = URL(fileURLWithPath: out, isDirectory: true)
        try fm.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in names.isEmpty ? ServiceName.onBus.map(\.rawValue) : names {
            let secretURL = folder.appendingPathComponent("\(name).key")
            let publicURL = folder.appendingPathComponent("\(name).pub")
            if !force, fm.fileExists(atPath: secretURL.path), fm.fileExists(atPath: publicURL.path) {
                print("kept    \(publicURL.path)")
                continue
            }
            let pair = try CurveKeyPair.generate()
            let cert = CurveCertificate(name: name, publicKey: pair.publicKey, secretKey: pair.secretKey)
            // The secret file is created with mode 0600 before anything is written into it.
            _ = fm.createFile(atPath: secretURL.path, contents: nil, attributes: [.posixPermissions: 0o600])
            try Data(cert.secretText!.utf8).write(to: secretURL)
            try Data(cert.publicText.utf8).write(to: publicURL)
            try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: publicURL.path)
            print("made    \(publicURL.path)  (public key \(pair.publicKey))")
        }
    }
}
