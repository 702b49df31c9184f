from dockernet.cli import main

main()
