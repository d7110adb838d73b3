"""Estimator factories for classification: ``factory(dataset, random_state, **params)``.

Every estimator runs on one thread (``n_jobs=1``): the evaluation protocol
parallelizes over learners, not inside them. All of them have
``predict_proba``, so every classification metric (log loss, ROC-AUC) is defined.
"""

from __future__ import annotations

from automl_meta.learners.common import SVM_EXACT_MAX_ROWS, categorical_mask, neighbors_for


def dummy(dataset, random_state, **params):
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(random_state=random_state, **params)


def logistic_regression(dataset, random_state, **params):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(random_state=random_state, **params)


def elastic_net(dataset, random_state, l1_ratio=0.5, max_iter=300, **params):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(solver="saga", l1_ratio=l1_ratio, max_iter=max_iter, random_state=random_state, **params)


def lda(dataset, random_state, **params):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return LinearDiscriminantAnalysis(**params)


def qda(dataset, random_state, **params):
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis

    return QuadraticDiscriminantAnalysis(**params)


def gaussian_nb(dataset, random_state, **params):
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB(**params)


def knn(dataset, random_state, n_neighbors=5, **params):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=neighbors_for(dataset, n_neighbors), n_jobs=1, **params)


def decision_tree(dataset, random_state, **params):
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(random_state=random_state, **params)


def random_forest(dataset, random_state, **params):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(random_state=random_state, n_jobs=1, **params)


def extra_trees(dataset, random_state, **params):
    from sklearn.ensemble import ExtraTreesClassifier

    return ExtraTreesClassifier(random_state=random_state, n_jobs=1, **params)


def hist_gradient_boosting(dataset, random_state, **params):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=random_state, categorical_features=categorical_mask(dataset), **params)


def lightgbm(dataset, random_state, **params):
    from lightgbm import LGBMClassifier

    return LGBMClassifier(random_state=random_state, n_jobs=1, verbose=-1, **params)


def svm_rbf(dataset, random_state, C=1.0, gamma="scale", nystroem_components=300, **params):
    """Exact SVC (Platt-scaled probabilities) up to ``SVM_EXACT_MAX_ROWS`` rows, else a Nystroem approximation."""
    if dataset.n_rows <= SVM_EXACT_MAX_ROWS:
        from sklearn.svm import SVC

        return SVC(C=C, gamma=gamma, probability=True, random_state=random_state, **params)
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        Nystroem(kernel="rbf", n_components=nystroem_components, random_state=random_state),
        LogisticRegression(C=C, max_iter=500),
    )


def mlp_torch(dataset, random_state, **params):
    from automl_meta.learners.mlp_torch import MLPTorchClassifier

    return MLPTorchClassifier(random_state=random_state, **params)
