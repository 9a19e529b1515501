from augenmass.cli import main

main()
