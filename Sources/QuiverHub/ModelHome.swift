import Foundation

/// The model home: `QUIVER_HOME` (default `~/.cache/quiver`), holding one folder per model under `models/`.
///
/// It only computes paths and inspects folders; it never downloads (``HubClient`` does).
///
/// ```swift
/// let home = ModelHome.fromEnvironment()
/// let model = try home.resolve("all-MiniLM-L6-v2")   // or "sentence-transformers/all-MiniLM-L6-v2", or "./my-model"
/// if !model.isInstalled { print("missing:", model.missingFiles) }
/// print(model.folder.path, model.entry.dimension ?? 0)  // …/models/all-MiniLM-L6-v2 384
/// ```
public struct ModelHome: Sendable, Hashable {
    /// The root folder (`QUIVER_HOME`).
    public let root: URL

    /// A model home at `root`.
    public init(root: URL) { self.root = root.standardizedFileURL }

    /// The model home named by the environment: `QUIVER_HOME`, or `~/.cache/quiver`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> ModelHome {
        if let h = environment["QUIVER_HOME"], !h.isEmpty { return ModelHome(root: URL(fileURLWithPath: expandTilde(h))) }
        return ModelHome(root: URL(fileURLWithPath: homeDirectory(environment)).appendingPathComponent(".cache/quiver"))
    }

    /// `root/models`.
    public var modelsDirectory: URL { root.appendingPathComponent("models", isDirectory: true) }

    /// The folder of the model whose folder name is `name` (it may not exist).
    public func folder(named name: String) -> URL { modelsDirectory.appendingPathComponent(name, isDirectory: true) }

    /// The folder name used for a hub model that is not in the catalog: `ORG--NAME` (as in the Hugging Face cache).
    public static func folderName(forHubID id: String) -> String { id.replacingOccurrences(of: "/", with: "--") }

    /// Names of the model folders present under `models/`, sorted.
    public func installedFolderNames() -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: modelsDirectory.path) else { return [] }
        return names.filter { name in
            var isDir: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: modelsDirectory.appendingPathComponent(name).path, isDirectory: &isDir) && isDir.boolValue
        }.sorted()
    }

    /// Resolves what a user typed into a model: a catalog name (`all-MiniLM-L6-v2`), a hub id
    /// (`sentence-transformers/all-MiniLM-L6-v2`, catalogued or not) or a local folder path with model files.
    ///
    /// Order: an explicit path (absolute, `./`, `../`, `~`) → catalog name or hub id → an existing folder
    /// with model files → a folder under `models/` → any other `ORG/NAME` as an uncatalogued hub model.
    /// - Throws: `HubError.unknownModel` with the closest catalog names when nothing matches.
    public func resolve(_ name: String, catalog: ModelCatalog = .standard) throws -> ResolvedModel {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        let fm = FileManager.default
        let looksLikePath = trimmed.hasPrefix("/") || trimmed.hasPrefix("./") || trimmed.hasPrefix("../")
            || trimmed.hasPrefix("~") || trimmed == "." || trimmed == ".."
        if looksLikePath {
            let url = URL(fileURLWithPath: Self.expandTilde(trimmed)).standardizedFileURL
            guard ModelInference.isModelFolder(url) else {
                throw HubError.fileSystem(path: url.path, message: fm.fileExists(atPath: url.path)
                    ? "not a model folder (no config.json, *.safetensors, *.pth or model.bin in it)"
                    : "no such folder")
            }
            return ResolvedModel(request: name, origin: .localFolder, entry: ModelInference.describe(folder: url), folder: url)
        }
        if let entry = catalog.entry(named: trimmed) {
            return ResolvedModel(request: name, origin: .catalog, entry: entry, folder: folder(named: entry.name))
        }
        let local = URL(fileURLWithPath: trimmed).standardizedFileURL
        if ModelInference.isModelFolder(local) {
            return ResolvedModel(request: name, origin: .localFolder, entry: ModelInference.describe(folder: local), folder: local)
        }
        if !trimmed.contains("/"), !trimmed.isEmpty {
            let f = folder(named: trimmed)
            if fm.fileExists(atPath: f.path) {
                return ResolvedModel(request: name, origin: .homeFolder, entry: ModelInference.describe(folder: f), folder: f)
            }
        }
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(Self.isHubIDCharacter) }) {
            let f = folder(named: Self.folderName(forHubID: trimmed))
            var entry = ModelInference.describe(folder: f)
            entry.name = Self.folderName(forHubID: trimmed)
            entry.hubID = trimmed
            entry.sources = [.hub(repo: trimmed, revision: "main")]
            return ResolvedModel(request: name, origin: .hub, entry: entry, folder: f)
        }
        throw HubError.unknownModel(name: name, suggestions: catalog.suggestions(for: trimmed))
    }

    static func isHubIDCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_" || c == ".")
    }

    static func expandTilde(_ path: String) -> String {
        guard path.hasPrefix("~") else { return path }
        return homeDirectory(ProcessInfo.processInfo.environment) + path.dropFirst()
    }

    static func homeDirectory(_ environment: [String: String]) -> String {
        if let h = environment["HOME"], !h.isEmpty { return h }
        return FileManager.default.homeDirectoryForCurrentUser.path
    }
}

/// A model name resolved to its description and folder.
public struct ResolvedModel: Sendable {
    /// How the name was understood.
    public enum Origin: String, Sendable, Codable {
        /// A catalog name or a catalogued hub id.
        case catalog
        /// A hub id (`ORG/NAME`) not in the catalog; installed under `models/ORG--NAME`.
        case hub
        /// A folder path given by the user.
        case localFolder = "local-folder"
        /// A folder under `models/` that is not in the catalog (described from its files).
        case homeFolder = "home-folder"
    }

    /// What the user typed.
    public let request: String
    /// How ``request`` was understood: catalog entry, uncatalogued hub id, local folder or folder in the model home.
    public let origin: Origin
    /// The catalog entry, or a description inferred from the folder's files (config.json, file names).
    public let entry: CatalogEntry
    /// Where the model's files are (or will be after a pull).
    public let folder: URL

    /// True when the entry comes from the catalog (rather than inferred).
    public var isCataloged: Bool { origin == .catalog }

    /// The weight file present in the folder (first of `entry.files.weights` in preference order), if any.
    public var weightFile: WeightFile? {
        entry.files.weights.first { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0.path).path) }
    }

    /// Required files (and the weight group) not present in the folder. Empty means installed.
    public var missingFiles: [String] {
        let fm = FileManager.default
        var missing = entry.files.required.filter { !fm.fileExists(atPath: folder.appendingPathComponent($0).path) }
        if !entry.files.weights.isEmpty && weightFile == nil {
            missing.append(entry.files.weights.map(\.path).joined(separator: " or "))
        }
        return missing
    }

    /// True when every file a working install needs is in `folder`.
    public var isInstalled: Bool {
        FileManager.default.fileExists(atPath: folder.path) && missingFiles.isEmpty
            && !(entry.files.weights.isEmpty && entry.files.required.isEmpty)
    }

    /// Bytes used by the folder's files (0 when absent); symbolic links are not followed.
    public var sizeOnDisk: Int64 { ModelInference.folderSize(folder) }
}
