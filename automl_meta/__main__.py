from automl_meta.cli import main

main()
