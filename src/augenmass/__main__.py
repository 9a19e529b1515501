from augenmass.launch import main

main()
