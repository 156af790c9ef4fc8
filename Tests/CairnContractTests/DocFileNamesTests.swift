import Foundation
import Testing

/// Every file of ours that README.md, docs/ARCHITECTURE.md and docs/PROTOCOL.md name in backticks exists in the
/// tree, so a rename or a split cannot leave the docs pointing at a file that is gone.
///
/// What counts as a name: a word of an inline code span that ends in a source or document extension
/// (`Feed.swift`, `send.js`, `genesis.py`, `stack.yaml`) or starts with one of the tree's folders (`Sources/…`,
/// `Tests/…`, `scripts/…`, `docs/…`, `docker/…`) or with `js/` (the browser code); in fenced code blocks, only the
/// words that start with one of those folders (`bash scripts/bench.sh`).
/// How it resolves: a path from a folder of the tree must exist from the package's root (a file or a folder);
/// `js/…` from `Sources/WalletFront/Public`; a bare name (`Hub.swift`) or a partial path (`Peers/BanList.swift`)
/// must be the name or the end of the path of some file under those folders.
/// Not checked: URL paths and system paths (starting with `/`: `/config.json`, `/usr/share/javascript/…`), and
/// patterns (`<Service>Command.swift`, `js/portal/*.js`: only the folder before the pattern must exist).
@Suite struct DocsNameFilesThatExist {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let documents = ["README.md", "docs/ARCHITECTURE.md", "docs/PROTOCOL.md"]
    static let folders = ["Sources", "Tests", "scripts", "docs", "docker"]
    static let webRoot = "Sources/WalletFront/Public"
    static let extensions: Set<String> = ["swift", "js", "mjs", "py", "sh", "html", "css", "json", "yaml", "yml", "md", "cpp", "h", "c", "txt"]

    /// Names the docs give that are not files of ours; each says what it is. Keep this list short.
    static let notOurs: [String: String] = [
        "src/rpc/protocol.h": "Bitcoin Core's source file with the JSON-RPC error codes (PROTOCOL, Errors)",
        "libjs-chart.js": "the Debian package that ships Chart.js",
        "./cairn-wallet.json": "the wallet file `cairn wallet new` writes in the working folder, not in the tree",
        "bench-out/growth.txt": "the growth table `scripts/bench.sh` writes (git-ignored output)",
    ]

    /// Every file under the tree's folders, as a path from the package's root, and every folder.
    static let tree: (files: [String], folders: Set<String>) = {
        var files: [String] = []
        var dirs = Set<String>()
        let fm = FileManager.default
        for folder in folders {
            let base = root.appendingPathComponent(folder)
            guard let walk = fm.enumerator(at: base, includingPropertiesForKeys: [.isDirectoryKey]) else { continue }
            dirs.insert(folder)
            for case let url as URL in walk {
                let relative = folder + "/" + url.path.dropFirst(base.path.count + 1)
                if (try? url.resourceValues(forKeys: [.isDirectoryKey]))?.isDirectory == true {
                    dirs.insert(relative)
                } else {
                    files.append(relative)
                }
            }
        }
        return (files, dirs)
    }()

    /// The words of a document that name a file: from its inline code spans, and from its fenced blocks the
    /// words that start with a folder of the tree.
    static func namedFiles(in text: String) -> [String] {
        var prose = ""
        var fenced: [Substring] = []
        var inFence = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") { inFence.toggle(); continue }
            if inFence { fenced.append(line) } else { prose += line + "\n" }
        }
        // Inline code spans may run over a line break: split the prose, not each line.
        let spans = prose.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        let rooted = (folders + ["js"]).map { $0 + "/" }
        var out: [String] = []
        for span in spans {
            for word in span.split(whereSeparator: \.isWhitespace) {
                let w = clean(word)
                let ext = w.split(separator: ".").last.map(String.init) ?? ""
                if rooted.contains(where: w.hasPrefix) || (w.contains(".") && extensions.contains(ext)) { out.append(w) }
            }
        }
        for line in fenced {
            for word in line.split(whereSeparator: \.isWhitespace) {
                let w = clean(word)
                if folders.contains(where: { w.hasPrefix($0 + "/") }) { out.append(w) }
            }
        }
        return out
    }

    /// A word without the punctuation around it or a `:line` suffix.
    static func clean(_ word: Substring) -> String {
        var w = Substring(word)
        while let first = w.first, "(\"'".contains(first) { w = w.dropFirst() }
        while let last = w.last, ".,;:)\"'".contains(last) { w = w.dropLast() }
        if let colon = w.lastIndex(of: ":"), w[w.index(after: colon)...].allSatisfy(\.isNumber) { w = w[..<colon] }
        return String(w)
    }

    /// Whether a named file (or folder) is in the tree; see the suite's comment for the rules.
    static func exists(_ name: String) -> Bool {
        if name.hasPrefix("/") || name.hasPrefix("http") { return true }
        if let pattern = name.firstIndex(where: { "<*{…".contains($0) }) {
            guard let slash = name[..<pattern].lastIndex(of: "/") else { return true }
            return exists(String(name[..<slash]))
        }
        let path = name.hasSuffix("/") ? String(name.dropLast()) : name
        if path.hasPrefix("js/") {
            return FileManager.default.fileExists(atPath: root.appendingPathComponent(webRoot + "/" + path).path)
        }
        if folders.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) {
            return FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path)
        }
        if path.contains("/") {
            return tree.files.contains { $0.hasSuffix("/" + path) } || tree.folders.contains { $0.hasSuffix("/" + path) }
        }
        return tree.files.contains { $0.split(separator: "/").last.map(String.init) == path }
    }

    @Test(arguments: documents) func everyFileTheDocumentNamesExists(document: String) throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent(document), encoding: .utf8)
        let named = Self.namedFiles(in: text)
        #expect(!named.isEmpty, "\(document) names no file")
        let missing = Set(named.filter { Self.notOurs[$0] == nil && !Self.exists($0) }).sorted()
        #expect(missing.isEmpty, "\(document) names files that are not in the tree: \(missing)")
    }

    @Test func theExceptionsAreStillNamedAndStillNotOurs() throws {
        let named = try Set(Self.documents.flatMap { Self.namedFiles(in: try String(contentsOf: Self.root.appendingPathComponent($0), encoding: .utf8)) })
        for name in Self.notOurs.keys {
            let stillNamed = named.contains(name)
            #expect(stillNamed, "\(name) is listed as an exception but no document names it any more")
            let inTree = Self.exists(name)
            #expect(!inTree, "\(name) is listed as not ours but is a file of the tree")
        }
    }

    @Test func theRulesResolveEachKindOfName() {
        #expect(Self.exists("Sources/CairnContract/Vocabulary.swift"))
        #expect(Self.exists("Vocabulary.swift"))
        #expect(Self.exists("Peers/BanList.swift"))
        #expect(Self.exists("js/routes.js"))
        #expect(Self.exists("Sources/APIEdge"))
        #expect(Self.exists("scripts/"))
        #expect(!Self.exists("Sources/CairnContract/NoSuchFile.swift"))
        #expect(!Self.exists("NoSuchFile.swift"))
        #expect(!Self.exists("Nowhere/BanList.swift"))
        #expect(!Self.exists("js/nowhere.js"))
        #expect(Self.namedFiles(in: "see `Feed.swift` and\n`js/wallet/send.js`,\n```sh\nbash scripts/up.sh --x\n```\n`getblock`") == ["Feed.swift", "js/wallet/send.js", "scripts/up.sh"])
    }
}
