import QuiverWeights

extension WeightLoader {
    /// Opens a transformer encoder checkpoint that may carry its base-model prefix
    /// (`bert.`, `mpnet.`: task checkpoints) or not (sentence-transformers' plain ones), and marks
    /// what sentence-transformers never reads as allowed to stay unused: the `position_ids`
    /// buffer, the pooler, and (under a prefix) the task head named `head`.
    /// - Returns: the loader and the scope that holds `embeddings.` and `encoder.`.
    static func encoder(_ source: WeightSource, modelPrefix: String, head: String) -> (WeightLoader, WeightScope) {
        let loader = WeightLoader(source)
        let prefixed = source.info("embeddings.word_embeddings.weight") == nil
            && source.info(modelPrefix + ".embeddings.word_embeddings.weight") != nil
        let prefix = prefixed ? modelPrefix + "." : ""
        loader.ignoredUnused = [
            { $0.hasSuffix("embeddings.position_ids") },
            { $0.hasPrefix(prefix + "pooler.") },
            { prefixed && $0.hasPrefix(head + ".") },
        ]
        return (loader, prefixed ? loader.root.scope(modelPrefix) : loader.root)
    }
}
