import QuiverStore

// Public initializers for callers outside the library that run a search themselves (the
// server's batched text search). Their labels differ from the memberwise initializers'.

extension SearchResult {
    /// Hit `id` of `collection` with its row `fields`, its `score` and its `rank` in that
    /// collection's list (1 = best).
    public init(id: String, collection: String, score: Float, rank: Int, fields: [String: FieldValue]) {
        self.score = score
        self.collection = collection
        self.fields = fields
        self.id = id
        self.rank = rank
    }
}

extension SearchOutcome {
    /// An outcome over the collections `searched`: `results` (best first) and `notes` for the user.
    public init(searched: [String], results: [SearchResult], notes: [String]) {
        self.results = results
        self.searched = searched
        self.notes = notes
    }
}
