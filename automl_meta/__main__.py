from automl_meta.cli.main import main

main()
