"""The intent classifier: two light linear heads, averaged, and the prototypes of each intent.

One head reads the encoder's sentence vector (meaning, paraphrase), the other reads TF-IDF
n-grams (the creator's exact words). Each is a multinomial logistic regression with pinned
hyper-parameters; their probabilities are averaged. On BANKING77 the pair beats either head
alone by more than a point (see BENCHMARKS.md).

A softmax must pick some intent even for text unlike anything the assistant knows, so the
classifier also keeps prototypes of its training utterances (the utterances themselves, or
k-means centroids of an intent's utterances when there are many) and reports how near an
utterance lies to the nearest of them; ``nlu.calibration.Familiarity`` folds that into the
confidence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from nlu.files import component_read, component_write
from nlu.nearness import Nearness
from nlu.ngrams import NgramVectorizer

NEARNESS_GRAPH = "nearness.onnx"


@dataclass(frozen=True)
class IntentConfig:
    dense_c: float = 30.0  # inverse L2 strength of the sentence-vector head
    sparse_c: float = 30.0  # inverse L2 strength of the n-gram head
    sparse_weight: float = 0.5  # share of the n-gram head in the averaged probability
    min_df: int = 2  # character n-grams seen in fewer utterances are dropped
    max_iter: int = 1000
    tol: float = 1e-4
    # Vectors kept to measure nearness, shared out evenly among intents; 0 keeps none (for
    # uses that never ask how near an utterance is, like the clarity analysis).
    prototypes: int = 2000


def _intent_labels(labels: list[str]) -> list[str]:
    """The sorted distinct intents, refusing data a classifier cannot be trained on."""
    distinct = sorted(set(labels))
    if len(distinct) < 2:
        raise ValueError("an intent classifier needs utterances of at least two intents")
    return distinct


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _fit_logistic(
    features: np.ndarray | sparse.csr_matrix,
    targets: np.ndarray,
    *,
    config: IntentConfig,
    c: float,
    solver: str = "lbfgs",
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(
        C=c, solver=solver, max_iter=config.max_iter, tol=config.tol, random_state=0
    )
    model.fit(features, targets)
    weights, bias = model.coef_.T, model.intercept_
    if weights.shape[1] == 1:
        # Two intents: scikit-learn fits one logit z for the second. softmax([-z/2, z/2]) is the
        # same sigmoid(z), and gives every intent its own column like the multi-intent case.
        weights, bias = (
            np.hstack([-weights / 2, weights / 2]),
            np.array([-bias[0] / 2, bias[0] / 2]),
        )
    return weights.astype(np.float32), bias.astype(np.float32)


def _prototypes(
    embeddings: np.ndarray, targets: np.ndarray, intents: int, budget: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors summarising each intent's utterances, and the intent each belongs to.

    An intent keeps its own utterances when they fit its share of ``budget``, else the k-means
    centroids of them: nearness costs one small matrix product however large the assistant.
    """
    from sklearn.cluster import KMeans

    if budget <= 0:
        return np.zeros((0, embeddings.shape[1]), dtype=np.float32), np.zeros(0, dtype=np.int32)
    share = max(1, budget // max(1, intents))
    vectors, owners = [], []
    for column in range(intents):
        own = embeddings[targets == column]
        if len(own) > share:
            centroids = KMeans(share, n_init=1, random_state=0).fit(own).cluster_centers_
            own = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
        vectors.append(own)
        owners.append(np.full(len(own), column, dtype=np.int32))
    if not vectors:
        return np.zeros((0, embeddings.shape[1]), dtype=np.float32), np.zeros(0, dtype=np.int32)
    return np.vstack(vectors).astype(np.float32), np.concatenate(owners)


def _refit_column(
    features: np.ndarray | sparse.csr_matrix,
    targets: np.ndarray,
    weights: np.ndarray,
    bias: np.ndarray,
    column: int,
    *,
    c: float,
) -> None:
    """Re-optimise one intent's weights with every other intent's held fixed, in place.

    This is one block of coordinate descent on the same convex objective the full training
    minimises (softmax cross-entropy plus L2). The other intents' share of each row's softmax
    normaliser is computed once, so each step costs one pass over the features.
    """
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    logits = np.asarray(features @ weights, dtype=np.float64) + bias
    others = np.delete(logits, column, axis=1)
    others_normaliser = logsumexp(others, axis=1)
    is_target = targets == column

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        own = np.asarray(features @ w).ravel() + b
        normaliser = np.logaddexp(others_normaliser, own)
        # Rows of other intents contribute their (fixed) own logit; it does not move the optimum.
        loss = float(normaliser.sum() - own[is_target].sum() + 0.5 / c * (w @ w))
        residual = np.exp(own - normaliser) - is_target
        gradient = np.asarray(features.T @ residual).ravel() + w / c
        return loss, np.concatenate([gradient, [residual.sum()]])

    start = np.concatenate([weights[:, column], [bias[column]]]).astype(np.float64)
    result = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 200})
    weights[:, column] = result.x[:-1]
    bias[column] = result.x[-1]


class IntentClassifier:
    """Trains on (sentence vector, text, intent) triples; predicts a probability per intent."""

    def __init__(self, config: IntentConfig | None = None) -> None:
        self.config = config or IntentConfig()
        self.labels: list[str] = []
        self.vectorizer = NgramVectorizer(min_df=self.config.min_df)
        self.dense_weights = np.zeros((0, 0), dtype=np.float32)
        self.dense_bias = np.zeros(0, dtype=np.float32)
        self.sparse_weights = np.zeros((0, 0), dtype=np.float32)
        self.sparse_bias = np.zeros(0, dtype=np.float32)
        self.prototypes = np.zeros((0, 0), dtype=np.float32)
        self.prototype_owners = np.zeros(0, dtype=np.int32)

    @property
    def prototypes(self) -> np.ndarray:
        return self._nearness.prototypes

    @prototypes.setter
    def prototypes(self, vectors: np.ndarray) -> None:
        self._nearness = Nearness(vectors)

    def train(
        self, embeddings: np.ndarray, texts: list[str], labels: list[str]
    ) -> IntentClassifier:
        self.labels = _intent_labels(labels)
        index = {label: i for i, label in enumerate(self.labels)}
        targets = np.asarray([index[label] for label in labels])
        self.dense_weights, self.dense_bias = _fit_logistic(
            embeddings, targets, config=self.config, c=self.config.dense_c
        )
        self.vectorizer.fit(texts)
        # The n-gram head has n-grams x intents weights (7.5 M on CLINC150). L-BFGS keeps 25
        # vectors of that size (2.1 GB there); Newton-CG a few, and converges in fewer, cheaper
        # steps: 0.6 GB, and 7x faster on a 150-intent assistant with 5 examples each.
        self.sparse_weights, self.sparse_bias = _fit_logistic(
            self.vectorizer.transform(texts),
            targets,
            config=self.config,
            c=self.config.sparse_c,
            solver="newton-cg",
        )
        self.prototypes, self.prototype_owners = _prototypes(
            embeddings, targets, len(self.labels), self.config.prototypes
        )
        return self

    def refit(
        self, embeddings: np.ndarray, texts: list[str], labels: list[str], changed: set[str]
    ) -> IntentClassifier:
        """A copy retrained for edits to the ``changed`` intents only (added ones included).

        Other intents keep their weights and the n-gram vocabulary stays as it was; the next
        full training re-optimises everything. Seconds instead of a minute on 77 intents.
        """
        new_labels = _intent_labels(labels)
        old_columns = {label: i for i, label in enumerate(self.labels)}
        refitted = IntentClassifier(self.config)
        refitted.labels = new_labels
        refitted.vectorizer = self.vectorizer

        def carried(weights: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            new_weights = np.zeros((weights.shape[0], len(new_labels)), dtype=np.float32)
            new_bias = np.zeros(len(new_labels), dtype=np.float32)
            for column, label in enumerate(new_labels):
                if label in old_columns:
                    new_weights[:, column] = weights[:, old_columns[label]]
                    new_bias[column] = bias[old_columns[label]]
            return new_weights, new_bias

        refitted.dense_weights, refitted.dense_bias = carried(self.dense_weights, self.dense_bias)
        refitted.sparse_weights, refitted.sparse_bias = carried(
            self.sparse_weights, self.sparse_bias
        )
        index = {label: i for i, label in enumerate(new_labels)}
        targets = np.asarray([index[label] for label in labels])
        ngram_features = self.vectorizer.transform(texts)
        for label in sorted(changed & set(new_labels)):
            column = index[label]
            _refit_column(
                embeddings,
                targets,
                refitted.dense_weights,
                refitted.dense_bias,
                column,
                c=self.config.dense_c,
            )
            _refit_column(
                ngram_features,
                targets,
                refitted.sparse_weights,
                refitted.sparse_bias,
                column,
                c=self.config.sparse_c,
            )
        # Unchanged intents keep their prototypes (renumbered); edited ones get new ones.
        edited = {index[label] for label in changed if label in index}
        kept_vectors, kept_owners = [], []
        for vector, owner in zip(self.prototypes, self.prototype_owners, strict=True):
            label = self.labels[owner]
            if label in index and index[label] not in edited:
                kept_vectors.append(vector)
                kept_owners.append(index[label])
        fresh, fresh_owners = _prototypes(
            embeddings, np.where(np.isin(targets, list(edited)), targets, -1), len(new_labels),
            self.config.prototypes,
        )  # fmt: skip
        if kept_vectors:
            fresh = np.vstack([np.asarray(kept_vectors, dtype=np.float32), fresh])
            fresh_owners = np.concatenate([np.asarray(kept_owners, dtype=np.int32), fresh_owners])
        refitted.prototypes, refitted.prototype_owners = fresh, fresh_owners
        return refitted

    def probabilities(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        """One row per text, one column per label in ``self.labels``."""
        return self._blend(
            embeddings @ self.dense_weights, self.vectorizer.transform(texts) @ self.sparse_weights
        )

    def probabilities_one(self, embedding: np.ndarray, text: str) -> np.ndarray:
        """The serving path for one utterance: two small dot products, no matrices built."""
        indices, values = self.vectorizer.features(text)
        return self._blend(embedding @ self.dense_weights, values @ self.sparse_weights[indices])

    def nearness(self, embeddings: np.ndarray) -> np.ndarray:
        """Each utterance's cosine similarity to the nearest prototype (-1 without any)."""
        return self._nearness.of(embeddings)

    def nearness_one(self, embedding: np.ndarray) -> float:
        return self._nearness.of_one(embedding)

    def _blend(self, dense_scores: np.ndarray, ngram_scores: np.ndarray) -> np.ndarray:
        """Average the two heads' probabilities, the n-gram head at ``sparse_weight``."""
        dense = softmax(dense_scores + self.dense_bias)
        ngram = softmax(np.asarray(ngram_scores) + self.sparse_bias)
        weight = self.config.sparse_weight
        return (1 - weight) * dense + weight * ngram

    def save(self, directory: Path) -> None:
        vectorizer_config, vectorizer_arrays = self.vectorizer.state()
        state = {
            "config": asdict(self.config),
            "labels": self.labels,
            "vectorizer": vectorizer_config,
        }
        arrays = {
            "dense_weights": self.dense_weights,
            "dense_bias": self.dense_bias,
            "sparse_weights": self.sparse_weights,
            "sparse_bias": self.sparse_bias,
            "prototypes": self.prototypes,
            "prototype_owners": self.prototype_owners,
            **vectorizer_arrays,
        }
        component_write(directory, "intents", state, arrays)
        if len(self.prototypes):
            (directory / NEARNESS_GRAPH).write_bytes(self._nearness.graph)

    @classmethod
    def load(cls, directory: Path) -> IntentClassifier:
        state, arrays = component_read(directory, "intents")
        classifier = cls(IntentConfig(**state["config"]))
        classifier.labels = state["labels"]
        classifier.vectorizer = NgramVectorizer.from_state(state["vectorizer"], arrays)
        classifier.dense_weights = arrays["dense_weights"]
        classifier.dense_bias = arrays["dense_bias"]
        classifier.sparse_weights = arrays["sparse_weights"]
        classifier.sparse_bias = arrays["sparse_bias"]
        if "prototypes" in arrays:  # models trained before prototypes existed have none
            graph = directory / NEARNESS_GRAPH  # older models have none: built when first used
            classifier._nearness = Nearness(
                arrays["prototypes"], graph.read_bytes() if graph.exists() else None
            )
            classifier.prototype_owners = arrays["prototype_owners"]
        return classifier


def out_of_fold(
    embeddings: np.ndarray,
    texts: list[str],
    labels: list[str],
    *,
    config: IntentConfig,
    folds: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Every utterance scored by a classifier trained on the other folds (stratified by intent):
    its probabilities and its nearness to that classifier's prototypes.

    Columns are the sorted distinct labels; an intent a fold never saw scores 0 there.
    """
    from sklearn.model_selection import StratifiedKFold

    label_set = sorted(set(labels))
    folds = max(2, min(folds, min(Counter(labels).values())))
    probabilities = np.zeros((len(texts), len(label_set)), dtype=np.float32)
    nearness = np.zeros(len(texts), dtype=np.float32)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_rows, held_rows in splitter.split(np.zeros(len(labels)), labels):
        fold = IntentClassifier(config).train(
            embeddings[train_rows], [texts[i] for i in train_rows], [labels[i] for i in train_rows]
        )
        columns = [label_set.index(label) for label in fold.labels]
        probabilities[np.ix_(held_rows, columns)] = fold.probabilities(
            embeddings[held_rows], [texts[i] for i in held_rows]
        )
        nearness[held_rows] = fold.nearness(embeddings[held_rows])
    return probabilities, nearness
