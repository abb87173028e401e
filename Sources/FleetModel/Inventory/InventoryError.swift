/// A problem in an inventory source, naming the file and the JSON path of the bad field,
/// e.g. `inventory.json: instances.zerotier.roles.controller.machines: expected object, found array`.
public struct InventoryError: Error, Equatable, CustomStringConvertible, Sendable {
    public let file: String
    public let path: String
    public let message: String

    public init(file: String, path: String, message: String) {
        self.file = file
        self.path = path
        self.message = message
    }

    public var description: String {
        path.isEmpty ? "\(file): \(message)" : "\(file): \(path): \(message)"
    }
}
