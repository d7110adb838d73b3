"""Estimator factories for regression: ``factory(dataset, random_state, **params)``.

Every estimator runs on one thread (``n_jobs=1``). Learners whose
hyperparameters are in the target's units (the SVR's epsilon, Huber's
threshold) see a standardized target through ``TransformedTargetRegressor``;
the MLP standardizes its target itself.
"""

from __future__ import annotations

from automl_meta.learners.common import SVM_EXACT_MAX_ROWS, categorical_mask, neighbors_for


def _standardized_target(regressor):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())


def dummy(dataset, random_state, **params):
    from sklearn.dummy import DummyRegressor

    return DummyRegressor(**params)


def ridge(dataset, random_state, alphas=(0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0), **params):
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=list(alphas), **params)


def elastic_net(dataset, random_state, l1_ratio=0.5, alphas=30, cv=3, **params):
    """ElasticNetCV on a standardized target: on a raw target in large units (prices: x1000) its coordinate
    descent stopped after two passes, and its R2 fell to the dummy's while ridge's did not move."""
    from sklearn.linear_model import ElasticNetCV

    return _standardized_target(ElasticNetCV(l1_ratio=l1_ratio, alphas=alphas, cv=cv, random_state=random_state, n_jobs=1, **params))


def huber(dataset, random_state, **params):
    from sklearn.linear_model import HuberRegressor

    return _standardized_target(HuberRegressor(**params))


def knn(dataset, random_state, n_neighbors=5, **params):
    from sklearn.neighbors import KNeighborsRegressor

    return KNeighborsRegressor(n_neighbors=neighbors_for(dataset, n_neighbors), n_jobs=1, **params)


def decision_tree(dataset, random_state, **params):
    from sklearn.tree import DecisionTreeRegressor

    return DecisionTreeRegressor(random_state=random_state, **params)


def random_forest(dataset, random_state, **params):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(random_state=random_state, n_jobs=1, **params)


def extra_trees(dataset, random_state, **params):
    from sklearn.ensemble import ExtraTreesRegressor

    return ExtraTreesRegressor(random_state=random_state, n_jobs=1, **params)


def hist_gradient_boosting(dataset, random_state, **params):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(random_state=random_state, categorical_features=categorical_mask(dataset), **params)


def lightgbm(dataset, random_state, **params):
    from lightgbm import LGBMRegressor

    return LGBMRegressor(random_state=random_state, n_jobs=1, verbose=-1, **params)


def svm_rbf(dataset, random_state, C=1.0, gamma="scale", nystroem_components=300, **params):
    """Exact SVR up to ``SVM_EXACT_MAX_ROWS`` rows, else Nystroem features + ridge; target standardized."""
    if dataset.n_rows <= SVM_EXACT_MAX_ROWS:
        from sklearn.svm import SVR

        return _standardized_target(SVR(C=C, gamma=gamma, **params))
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline

    return _standardized_target(
        make_pipeline(Nystroem(kernel="rbf", n_components=nystroem_components, random_state=random_state), RidgeCV())
    )


def mlp_torch(dataset, random_state, **params):
    from automl_meta.learners.mlp_torch import MLPTorchRegressor

    return MLPTorchRegressor(random_state=random_state, **params)
