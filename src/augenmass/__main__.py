from augenmass.cli.main import main

main()
