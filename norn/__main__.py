from norn.cli import main

main()
