"""The candidate portfolio: every learner automl-meta evaluates and recommends.

Classification has 16 candidates and regression 14, covering distinct inductive
biases (linear, discriminant, Bayes, distance, single tree, bagged and
randomized forests, two gradient-boosting implementations, kernel machine,
neural network, baseline) plus two variants of strong families, chosen for
regimes the defaults serve badly (``lightgbm_shallow`` for small data,
``knn_25`` for noisy labels). Defaults are kept cheap, one thread each, so the
shipped meta-database (123 PMLB datasets capped at 2,000 rows, 5-fold) builds on
two cores in about an hour; ``benchmarks/evaluate_cost.py`` measures it.

Bump :data:`PORTFOLIO_VERSION` whenever a name, a parameter or a preprocessing
choice changes, and give the changed learner ``version=`` the new number:
meta-databases record each learner's version, scores from another version of
that learner are not comparable, and the others stay valid. A change to how a
task's folds are scored (metrics, class probabilities) goes in
:data:`TASK_SCORING_VERSION` instead: it makes every learner's scores of that
task stale (:func:`learner_version`).
"""

from __future__ import annotations

from automl_meta.learners import classification as C
from automl_meta.learners import regression as R
from automl_meta.learners.registry import Preprocessing, learner, make_registry

PORTFOLIO_VERSION = "4"  # 4: see TASK_SCORING_VERSION; 3: elastic_net regression on a standardized target; 2: QDA with Ledoit-Wolf shrinkage (was reg_param=0.1)
# The portfolio version in which the scoring of a task's cross-validation last changed: every learner's
# scores of that task stored under an older version are stale, whatever the learner's own version.
# 4: classification: class probabilities are rescaled only in rows that do not sum to 1; dividing every row
#    by its sum untied saturated probabilities, which moved multiclass roc_auc (gaussian_nb by up to 0.012)
TASK_SCORING_VERSION = {"classification": "4"}

SCALED = Preprocessing(scale=True, encode="onehot")
TREES = Preprocessing(scale=False, encode="ordinal")
BOOSTING = Preprocessing(scale=False, encode="ordinal", impute_numeric=False)  # NaN handled natively
NEURAL = Preprocessing(scale=True, encode="onehot", pandas_output=True)

_FOREST = {"n_estimators": 100, "min_samples_leaf": 1}
_LIGHTGBM = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 10, "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8}
_LIGHTGBM_SHALLOW = {"n_estimators": 150, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 5, "reg_lambda": 1.0}
# no hidden: 64-64 (mlp_torch's default), or a learned init's own sizes when init=PATH is set on the candidate
_MLP = {"learning_rate": 1e-3, "batch_size": 64, "max_epochs": 100, "patience": 10, "validation_fraction": 0.1}

SPECS = (
    learner("dummy", "baseline", "Predicts the class prior or the mean target; the floor every learner must beat.",
            classification=C.dummy, regression=R.dummy, preprocessing=SCALED),
    learner("logistic_regression", "linear", "L2-regularized logistic regression (lbfgs) on scaled, one-hot inputs.",
            classification=C.logistic_regression, params={"C": 1.0, "max_iter": 1000}, preprocessing=SCALED),
    learner("ridge", "linear", "Ridge regression, alpha chosen by efficient leave-one-out over 1e-3..1e3.",
            regression=R.ridge, preprocessing=SCALED),
    learner("elastic_net", "linear", "Sparse linear model, L1/L2 mix 0.5 (logistic with saga; ElasticNetCV choosing alpha by 3-fold CV, standardized target).",
            classification=C.elastic_net, regression=R.elastic_net, params={"l1_ratio": 0.5}, preprocessing=SCALED, version="3"),
    learner("huber", "linear", "Huber-loss linear regression, robust to outlying targets (standardized target).",
            regression=R.huber, params={"epsilon": 1.35, "alpha": 1e-4, "max_iter": 500}, preprocessing=SCALED),
    learner("lda", "discriminant", "Linear discriminant analysis with Ledoit-Wolf shrinkage (shared class covariance).",
            classification=C.lda, params={"solver": "lsqr", "shrinkage": "auto"}, preprocessing=SCALED),
    learner("qda", "discriminant", "Quadratic discriminant analysis, per-class covariances with Ledoit-Wolf shrinkage.",
            classification=C.qda, params={"solver": "eigen", "shrinkage": "auto"}, preprocessing=SCALED, version="2"),
    learner("gaussian_nb", "bayes", "Gaussian naive Bayes: independent features given the class.",
            classification=C.gaussian_nb, preprocessing=SCALED),
    learner("knn", "neighbors", "k-nearest neighbours, k=5, uniform vote, Euclidean on scaled inputs.",
            classification=C.knn, regression=R.knn, params={"n_neighbors": 5}, preprocessing=SCALED),
    learner("knn_25", "neighbors", "Variant: k=25, distance-weighted; smoother, for noisy targets.",
            classification=C.knn, regression=R.knn, params={"n_neighbors": 25, "weights": "distance"}, preprocessing=SCALED),
    learner("decision_tree", "tree", "A single CART tree (min 2 rows per leaf).",
            classification=C.decision_tree, regression=R.decision_tree, params={"min_samples_leaf": 2}, preprocessing=TREES),
    learner("random_forest", "forest", "Random forest, 100 bootstrapped trees (sqrt features per split for classes, all for regression).",
            classification=C.random_forest, regression=R.random_forest, params=_FOREST, preprocessing=TREES),
    learner("extra_trees", "forest", "Extremely randomized trees, 100 trees, random split thresholds.",
            classification=C.extra_trees, regression=R.extra_trees, params=_FOREST, preprocessing=TREES),
    learner("hist_gradient_boosting", "boosting", "scikit-learn histogram gradient boosting, native categorical splits, 100 iterations.",
            classification=C.hist_gradient_boosting, regression=R.hist_gradient_boosting, params={"max_iter": 100, "learning_rate": 0.1},
            preprocessing=BOOSTING),
    learner("lightgbm", "boosting", "LightGBM, 200 leaf-wise trees of 31 leaves, learning rate 0.05, row and column subsampling 0.8.",
            classification=C.lightgbm, regression=R.lightgbm, params=_LIGHTGBM, preprocessing=BOOSTING),
    learner("lightgbm_shallow", "boosting", "Variant: LightGBM with 7-leaf trees and 5 rows per leaf, for small datasets.",
            classification=C.lightgbm, regression=R.lightgbm, params=_LIGHTGBM_SHALLOW, preprocessing=BOOSTING),
    learner("svm_rbf", "kernel", "RBF-kernel SVM (C=1, gamma 'scale'); Nystroem approximation with 300 components above 3,000 rows.",
            classification=C.svm_rbf, regression=R.svm_rbf, params={"C": 1.0, "gamma": "scale"}, preprocessing=SCALED),
    learner("mlp_torch", "neural", "Torch MLP 64-64 ReLU, Adam, early stopping on a 10% validation split (at most 100 epochs).",
            classification=C.mlp_torch, regression=R.mlp_torch, params=_MLP, preprocessing=NEURAL),
)

LEARNERS = make_registry(SPECS)


def learner_version(spec, task: str) -> str:
    """The version of ``spec``'s scores on ``task``: its definition's, or the task's last scoring change if later."""
    scoring = TASK_SCORING_VERSION.get(task)
    return spec.version if scoring is None or int(spec.version) >= int(scoring) else scoring
