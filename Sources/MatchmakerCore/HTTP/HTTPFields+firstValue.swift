import HTTPTypes

extension HTTPFields {
    /// The value `self[name]` gives (several fields joined), without building a joined string in the common
    /// case of one field: the function endpoint reads headers on every call.
    func value(of name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            if found != nil { return self[name] }
            found = field.value
        }
        return found
    }
}
